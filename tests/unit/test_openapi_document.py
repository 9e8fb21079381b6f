"""The committed OpenAPI document must match what the code generates (run `make openapi` to refresh)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sevbridge.api.openapi_export import render

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `make openapi`"
    assert COMMITTED.read_text(encoding="utf-8") == render(), "docs/openapi.json is stale: run `make openapi`"


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
    ]:
        assert method in paths[path], (path, method)
    assert document["components"]["securitySchemes"]["platformKey"]["scheme"] == "bearer"
    events_body = paths["/v1/tenants/{tenant_id}/events"]["post"]["requestBody"]["content"]["application/json"]
    assert "anyOf" in events_body["schema"] or "oneOf" in events_body["schema"]
    assert "ContactWithInvoices" in document["components"]["schemas"]
