"""Connection routes (C1–C5) through the real api handler, moto and the sevDesk sandbox."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.support.api_client import HandlerApiClient

pytestmark = pytest.mark.functional

TENANT = "/v1/tenants/school-42"


def put_token(api: HandlerApiClient, token: str, **settings: Any) -> Any:
    body: dict[str, Any] = {"sevdesk_token": token}
    if settings:
        body["settings"] = settings
    return api.put(f"{TENANT}/connection", json_body=body)


def test_put_connection_tests_token_and_stores_it_encrypted(
    api: HandlerApiClient, sevdesk_account: Any, aws: Any
) -> None:
    result = put_token(api, sevdesk_account.token)

    assert result.status == 201, result.body
    body = result.json
    assert body["created"] is True
    assert body["status"] == "connected"
    assert body["token_fingerprint"] == "…" + sevdesk_account.token[-4:]
    assert body["sevdesk"]["bookkeeping_system_version"] == "2.0"
    assert body["sevdesk"]["user_id"]
    assert body["settings"]["auto_transfer"] is True
    assert body["settings"]["contact_update_policy"] == "update"
    assert sevdesk_account.token not in result.body

    # The stored item holds KMS ciphertext, never the token.
    import boto3

    table = aws.environment()["TENANTS_TABLE"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    stored = repr(items)
    assert sevdesk_account.token not in stored
    assert sevdesk_account.token.encode() not in items[0]["token_ciphertext"]["B"]


def test_second_put_updates_and_merges_settings(api: HandlerApiClient, sevdesk_account: Any) -> None:
    put_token(api, sevdesk_account.token, auto_transfer=False)
    result = api.put(f"{TENANT}/connection", json_body={"settings": {"contact_update_policy": "never"}})

    assert result.status == 200, result.body
    assert result.json["created"] is False
    assert result.json["settings"]["auto_transfer"] is False  # kept
    assert result.json["settings"]["contact_update_policy"] == "never"  # changed
    assert result.json["token_version"] == 1


def test_get_connection(api: HandlerApiClient, sevdesk_account: Any) -> None:
    put_token(api, sevdesk_account.token)
    result = api.get(f"{TENANT}/connection")
    assert result.status == 200
    assert result.json["tenant_id"] == "school-42"
    assert "sevdesk_token" not in result.json
    assert result.json["health"]["last_error"] is None


def test_new_connection_needs_a_token(api: HandlerApiClient) -> None:
    result = api.put(f"{TENANT}/connection", json_body={"settings": {"auto_transfer": False}})
    assert result.status == 422
    assert result.json["error"]["details"][0]["field"] == "sevdesk_token"


@pytest.mark.parametrize("bad", ["abc", "g" * 32, "0" * 31, "0" * 33, "Bearer " + "0" * 32])
def test_token_shape_is_checked_without_echoing_it(api: HandlerApiClient, bad: str) -> None:
    result = put_token(api, bad)
    assert result.status == 422
    assert result.json["error"]["details"][0]["field"] == "sevdesk_token"
    assert "32 hexadecimal" in result.json["error"]["details"][0]["problem"]
    assert bad not in result.body


def test_token_rejected_by_sevdesk_is_not_stored(api: HandlerApiClient) -> None:
    result = put_token(api, "0123456789abcdef0123456789abcdef")
    assert result.status == 422
    assert result.json["error"]["code"] == "connection_rejected"
    assert result.json["error"]["details"][0]["reason"] == "invalid_token"
    assert "0123456789abcdef0123456789abcdef" not in result.body
    assert api.get(f"{TENANT}/connection").status == 404


def test_sevdesk_down_answers_503_and_stores_nothing(
    api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any
) -> None:
    from sevdesk_sandbox.faults import Fault

    sandbox_state.add_fault(Fault(kind="status", status=503, times=10))
    result = put_token(api, sevdesk_account.token)
    assert result.status == 503
    assert result.json["error"]["code"] == "sevdesk_unavailable"
    sandbox_state.clear_faults()
    assert api.get(f"{TENANT}/connection").status == 404


def test_connection_test_reports_version_and_user(api: HandlerApiClient, sevdesk_account: Any) -> None:
    put_token(api, sevdesk_account.token)
    result = api.post(f"{TENANT}/connection/test")
    assert result.status == 200
    assert result.json["ok"] is True
    assert result.json["reason"] is None
    assert result.json["sevdesk"]["bookkeeping_system_version"] == "2.0"
    assert result.json["sevdesk"]["user_name"]


def test_rotated_token_flips_to_reconnect_required(
    api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any
) -> None:
    put_token(api, sevdesk_account.token)
    new_token = sandbox_state.rotate_token(sevdesk_account.account_id)

    result = api.post(f"{TENANT}/connection/test")
    assert result.status == 200
    assert result.json["ok"] is False
    assert result.json["reason"] == "invalid_token"
    assert "new token" in result.json["message"] or "regenerated" in result.json["message"]
    assert api.get(f"{TENANT}/connection").json["status"] == "reconnect_required"

    rotated = put_token(api, new_token)
    assert rotated.status == 200
    assert rotated.json["status"] == "connected"
    assert rotated.json["token_version"] == 2
    assert rotated.json["token_fingerprint"] == "…" + new_token[-4:]


def test_delete_tenant_removes_token_and_data(api: HandlerApiClient, sevdesk_account: Any, aws: Any) -> None:
    put_token(api, sevdesk_account.token)
    result = api.delete("/v1/tenants/school-42")
    assert result.status == 200
    assert result.json["items_deleted"] >= 1
    assert api.get(f"{TENANT}/connection").status == 404
    assert api.delete("/v1/tenants/school-42").status == 404

    import boto3

    assert boto3.client("dynamodb").scan(TableName=aws.environment()["TENANTS_TABLE"])["Items"] == []


def test_other_platform_gets_404_not_403(api: HandlerApiClient, api_handler: Any, sevdesk_account: Any) -> None:
    from sevbridge import wiring
    from sevbridge.domain.platforms import create_platform

    put_token(api, sevdesk_account.token)
    _, other_key = create_platform(wiring.platform_store(), wiring.clock(), "Other Platform")
    other = HandlerApiClient(api_handler, api_key=other_key)

    assert other.get(f"{TENANT}/connection").status == 404
    assert other.post(f"{TENANT}/connection/test").status == 404
    assert other.delete("/v1/tenants/school-42").status == 404
    # ... and the other platform's PUT creates its own tenant, leaving the first one untouched.
    assert other.put(f"{TENANT}/connection", json_body={"sevdesk_token": sevdesk_account.token}).status == 201
    assert api.get(f"{TENANT}/connection").json["token_version"] == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 401), ({"Authorization": "Basic abc"}, 401), ({"Authorization": "Bearer sbk_wrong"}, 401)],
)
def test_every_route_needs_a_platform_key(api_handler: Any, headers: dict[str, str], expected: int) -> None:
    client = HandlerApiClient(api_handler, api_key="")
    for method, path in [
        ("GET", f"{TENANT}/connection"),
        ("PUT", f"{TENANT}/connection"),
        ("POST", f"{TENANT}/connection/test"),
        ("DELETE", "/v1/tenants/school-42"),
        ("POST", f"{TENANT}/events"),
        ("GET", f"{TENANT}/transfers"),
    ]:
        result = client.request(method, path, headers=headers, json_body={})
        assert result.status == expected, (method, path)
        assert result.json["error"]["code"] == "unauthenticated"


def test_malformed_unknown_wrong_type_and_oversized_bodies(api: HandlerApiClient) -> None:
    malformed = api.put(f"{TENANT}/connection", raw_body="{not json")
    assert malformed.status == 400
    assert malformed.json["error"]["code"] == "malformed_json"

    unknown = api.put(f"{TENANT}/connection", json_body={"sevdesk_token": "0" * 32, "colour": "red"})
    assert unknown.status == 422
    # The unknown key is located but never repeated: it is the caller's input, not our vocabulary.
    assert {"field": "*", "problem": "is not a known field"}.items() <= unknown.json["error"]["details"][0].items()
    assert "colour" not in unknown.body

    wrong_type = api.put(f"{TENANT}/connection", json_body={"settings": {"auto_transfer": "sometimes"}})
    assert wrong_type.status == 422
    assert wrong_type.json["error"]["details"][0]["field"] == "settings.auto_transfer"

    bad_setting = api.put(f"{TENANT}/connection", json_body={"settings": {"contact_matching": ["mapping", "mapping"]}})
    assert bad_setting.status == 422
    assert "settings.contact_matching" in bad_setting.json["error"]["details"][0]["field"]

    oversized = api.put(f"{TENANT}/connection", raw_body='{"x": "' + "a" * 1_100_000 + '"}')
    assert oversized.status == 413
    assert oversized.json["error"]["details"][0]["field"] == "body"


def test_bad_tenant_id_is_rejected(api: HandlerApiClient) -> None:
    result = api.get("/v1/tenants/bad%20id!/connection")
    assert result.status == 422
    assert result.json["error"]["details"][0]["field"].startswith("path")


def test_token_never_reaches_logs(
    api: HandlerApiClient,
    sevdesk_account: Any,
    sandbox_state: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    put_token(api, sevdesk_account.token)
    api.post(f"{TENANT}/connection/test")
    new_token = sandbox_state.rotate_token(sevdesk_account.account_id)
    api.post(f"{TENANT}/connection/test")
    put_token(api, new_token)
    put_token(api, "0123456789abcdef0123456789abcdef")
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text
    assert "connection stored" in everything  # the logs were captured at all
    for secret in (
        sevdesk_account.token,
        new_token,
        "0123456789abcdef0123456789abcdef",
        api.api_key or "x" * 40,
    ):
        assert secret not in everything


def test_docs_and_openapi_are_public(api_handler: Any) -> None:
    anonymous = HandlerApiClient(api_handler, api_key="")
    spec = anonymous.get("/v1/openapi.json")
    assert spec.status == 200
    assert "/v1/tenants/{tenant_id}/connection" in spec.json["paths"]
    docs = anonymous.get("/v1/docs")
    assert docs.status == 200
    assert "swagger" in docs.body.lower()
    assert "/v1/tenants/{tenant_id}/events" in docs.body
