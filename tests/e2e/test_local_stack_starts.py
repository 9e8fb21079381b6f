"""`make run` brings up a working stack: API, handlers, schedule, demo platform."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def test_stack_json_tells_how_to_reach_everything(local_stack: RunningStack) -> None:
    facts = local_stack.facts
    assert facts["api_url"].startswith("http://127.0.0.1:")
    assert facts["platform_api_key"].startswith("sbk_")
    assert facts["sevdesk_sandbox_url"].endswith("/api/v1")
    assert facts["sevdesk_base_url"] == facts["sevdesk_sandbox_url"]
    assert facts["sevdesk_token"]
    assert facts["moto_url"].startswith("http://127.0.0.1:")
    assert facts["pid"] == local_stack.process.pid


def test_openapi_document_is_served_through_the_gateway(local_stack: RunningStack) -> None:
    response = httpx.get(f"{local_stack.api_url}/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_unknown_routes_get_the_gateway_error_envelope(local_stack: RunningStack) -> None:
    response = httpx.get(f"{local_stack.api_url}/not-an-api", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_demo_platform_key_authenticates(local_stack: RunningStack, api: httpx.Client) -> None:
    anonymous = httpx.get(f"{local_stack.api_url}/v1/tenants/nobody/connection", timeout=10)
    assert anonymous.status_code == 401
    response = api.get("/v1/tenants/nobody/connection")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_import_schedule_fires_on_the_shortened_interval(local_stack: RunningStack) -> None:
    local_stack.wait_for_log("sevbridge-local-import-scheduler ran")
