"""Every event type is documented in the OpenAPI document's `webhooks` section with a schema that
resolves, and the webhook routes of the HTTP contract are there."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sevbridge.api.openapi_export import render
from sevbridge.domain.notify.types import NotificationType

pytestmark = pytest.mark.unit


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_event_type_has_a_documented_schema() -> None:
    document = json.loads(render())
    webhooks = document["webhooks"]
    assert set(webhooks) == {t.value for t in NotificationType}
    schemas = document["components"]["schemas"]
    for type_, entry in webhooks.items():
        post = entry["post"]
        assert {p["name"] for p in post["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[1]]
        assert schema["properties"]["type"]["const"] == type_
        assert {"id", "timestamp", "tenant_id", "data"} <= set(schema["properties"])
        for nested in _refs(schema):
            assert nested.rsplit("/", 1)[1] in schemas, (type_, nested)
    transfer_failed = schemas["TransferFailed"]
    assert "retryable" in transfer_failed["required"]


def test_the_webhook_routes_are_documented() -> None:
    paths = json.loads(render())["paths"]
    for path, method in [
        ("/v1/webhooks/endpoints", "post"),
        ("/v1/webhooks/endpoints", "get"),
        ("/v1/webhooks/endpoints/{endpoint_id}", "patch"),
        ("/v1/webhooks/endpoints/{endpoint_id}", "delete"),
        ("/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", "post"),
        ("/v1/webhooks/endpoints/{endpoint_id}/test", "post"),
        ("/v1/webhooks/deliveries", "get"),
        ("/v1/webhooks/deliveries/{delivery_id}", "get"),
        ("/v1/webhooks/deliveries/{delivery_id}/replay", "post"),
        ("/v1/webhooks/deliveries/replay", "post"),
    ]:
        assert method in paths[path], (path, method)
