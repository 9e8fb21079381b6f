"""The committed OpenAPI document must match what the code generates (run `make openapi` to refresh)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sevbridge.api.openapi_export import FIELD_NAMES, names_in, render, render_field_names
from sevbridge.api.responses import ERROR_DESCRIPTIONS, WRITE_METHODS

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `make openapi`"
    assert COMMITTED.read_text(encoding="utf-8") == render(), "docs/openapi.json is stale: run `make openapi`"


def test_committed_field_names_are_current() -> None:
    # Error details name only these (sevbridge.api.errors); generated so that a 422 needs no document.
    assert FIELD_NAMES.read_text(encoding="utf-8") == render_field_names(), (
        "sevbridge/api/field_names.py is stale: run `make openapi`"
    )


def test_field_names_are_the_documents_properties_and_parameters() -> None:
    document = {
        "paths": {"/x/{a}": {"get": {"parameters": [{"in": "path", "name": "a"}, {"in": "cookie", "name": "c"}]}}},
        "components": {"schemas": {"B": {"properties": {"b": {"type": "object", "properties": {"d": {}}}}}}},
    }
    assert names_in(document) == {"a", "b", "d"}


def test_document_covers_the_http_contract() -> None:
    document = json.loads(render())
    paths = document["paths"]
    for path, method in [
        ("/v1/tenants/{tenant_id}/connection", "put"),
        ("/v1/tenants/{tenant_id}/connection", "get"),
        ("/v1/tenants/{tenant_id}/connection/test", "post"),
        ("/v1/tenants/{tenant_id}", "delete"),
        ("/v1/tenants/{tenant_id}/events", "post"),
        ("/v1/tenants/{tenant_id}/transfers", "get"),
        ("/v1/tenants/{tenant_id}/transfers/{transfer_id}", "get"),
        ("/v1/tenants/{tenant_id}/transfers/{transfer_id}/retry", "post"),
        ("/v1/tenants/{tenant_id}/imports", "post"),
        ("/v1/tenants/{tenant_id}/imports/{run_id}", "get"),
        ("/v1/tenants/{tenant_id}/changes", "get"),
        ("/v1/webhooks/endpoints", "post"),
        ("/v1/webhooks/endpoints", "get"),
        ("/v1/webhooks/endpoints/{endpoint_id}", "patch"),
        ("/v1/webhooks/endpoints/{endpoint_id}", "delete"),
        ("/v1/webhooks/deliveries", "get"),
        ("/v1/webhooks/deliveries/{delivery_id}/replay", "post"),
    ]:
        assert method in paths[path], (path, method)
    assert document["components"]["securitySchemes"]["platformKey"]["scheme"] == "bearer"
    events_body = paths["/v1/tenants/{tenant_id}/events"]["post"]["requestBody"]["content"]["application/json"]
    assert "anyOf" in events_body["schema"] or "oneOf" in events_body["schema"]
    assert "ContactWithInvoices" in document["components"]["schemas"]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


# Error statuses only one route can give, beyond the shared ones (with the same error body).
ROUTE_SPECIFIC_ERRORS = {("get", "/v1/tenants/{tenant_id}/changes"): {410}}  # an expired change-feed cursor


def test_every_operation_documents_its_success_and_the_shared_error_answers() -> None:
    document = json.loads(render())
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, method, op in _operations(document):
        responses = op["responses"]
        successes = [status for status in responses if status.startswith("2")]
        assert successes, (method, path)
        for status in successes:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert "$ref" in schema, (method, path, status, schema)  # a model, never `type: string`
        expected = set(ERROR_DESCRIPTIONS) - ({404} if "{" not in path else set())
        expected -= {409} if method not in WRITE_METHODS else set()
        expected |= ROUTE_SPECIFIC_ERRORS.get((method, path), set())
        assert {int(s) for s in responses if not s.startswith("2")} == expected, (method, path)
        for status in expected:
            assert responses[str(status)]["content"]["application/json"]["schema"] == error_ref, (method, path)
        assert "Retry-After" in responses["429"]["headers"]
        assert op["operationId"].isidentifier(), op["operationId"]


def test_every_reference_resolves_and_nothing_unused_is_left() -> None:
    document = json.loads(render())
    text = json.dumps(document)
    refs = set(re.findall(r'"\$ref": "([^"]+)"', text))
    assert refs, "no references at all?"
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref  # not #/$defs/..., which does not resolve
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], ref
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert {ref.rsplit("/", 1)[1] for ref in refs} == set(document["components"]["schemas"])


def test_parameters_are_described_and_links_name_real_operations() -> None:
    document = json.loads(render())
    operation_ids = {op["operationId"] for _, _, op in _operations(document)}
    for path, method, op in _operations(document):
        for parameter in op.get("parameters", []):
            assert parameter.get("description"), (method, path, parameter["name"])
        for response in op["responses"].values():
            for name, link in response.get("links", {}).items():
                assert link["operationId"] in operation_ids, (method, path, name)


def test_the_documented_examples_are_accepted() -> None:
    from sevbridge.domain.intake import parse_event

    document = json.loads(render())
    body = document["paths"]["/v1/tenants/{tenant_id}/events"]["post"]["requestBody"]["content"]["application/json"]
    for example in body["examples"].values():
        value = example["value"]
        for event in value.get("events", [value]):
            parse_event(event)  # raises InvalidInput if the example drifted from the models


def test_api_gateways_own_429_carries_retry_after_like_the_document_says() -> None:
    from local_stack.template import load_template

    template = load_template(Path(__file__).resolve().parents[2] / "template.yaml")
    throttled = template["Resources"]["SevbridgeApi"]["Properties"]["GatewayResponses"]["THROTTLED"]
    assert throttled["StatusCode"] == 429
    assert throttled["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
