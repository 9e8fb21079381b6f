"""Endpoints and secrets through the real api handler: register, list, change, delete, rotate, test
event. The secret is shown once, stored only KMS-sealed and never logged; a receiver verifies the test
event with the official standardwebhooks library, as a platform would."""

from __future__ import annotations

import base64
import logging
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from tests.functional.webhooks.conftest import DELIVERIES, ENDPOINTS, delivery, dispatch, register
from tests.support.api_client import HandlerApiClient
from tests.support.receiver import Receiver

pytestmark = pytest.mark.functional


def outbox_items(aws: Any) -> str:
    table = aws.environment()["OUTBOX_TABLE"]
    return repr(boto3.client("dynamodb").scan(TableName=table)["Items"])


def test_register_shows_the_secret_once_and_stores_it_sealed(
    api: HandlerApiClient,
    aws: Any,
    loopback: None,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    created = register(api, receiver.url, event_types=["transfer.failed"], description="ops")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["event_types"] == ["transfer.failed"]
    assert created["tenant_ids"] is None and created["enabled"] is True and created["kind"] == "endpoint"

    listed = api.get(ENDPOINTS)
    assert [e["endpoint_id"] for e in listed.json["items"]] == [created["endpoint_id"]]
    one = api.get(f"{ENDPOINTS}/{created['endpoint_id']}")
    for answer in (listed, one):
        assert secret not in answer.body and "whsec_" not in answer.body
    assert secret not in outbox_items(aws)
    assert secret.removeprefix("whsec_") not in outbox_items(aws)
    captured = capfd.readouterr()
    everything = captured.out + captured.err + caplog.text
    assert secret not in everything
    assert base64.b64encode(secret.encode()).decode()[:40] not in everything  # e.g. a KMS request body


def test_patch_and_delete(api: HandlerApiClient, loopback: None, receiver: Receiver) -> None:
    endpoint_id = register(api, receiver.url)["endpoint_id"]
    patched = api.request(
        "PATCH", f"{ENDPOINTS}/{endpoint_id}", json_body={"event_types": ["transfer.succeeded"], "enabled": False}
    )
    assert patched.status == 200, patched.body
    assert patched.json["event_types"] == ["transfer.succeeded"]
    assert patched.json["enabled"] is False and patched.json["disabled_reason"] == "disabled by the platform"
    again = api.request("PATCH", f"{ENDPOINTS}/{endpoint_id}", json_body={"enabled": True, "event_types": None})
    assert again.json["enabled"] is True and again.json["event_types"] is None
    assert api.delete(f"{ENDPOINTS}/{endpoint_id}").json == {"endpoint_id": endpoint_id, "deleted": True}
    assert api.get(f"{ENDPOINTS}/{endpoint_id}").status == 404


BAD_ENDPOINTS: list[tuple[dict[str, Any], str]] = [
    ({"url": "http://hooks.example.com/x"}, "url"),
    ({"url": "https://169.254.169.254/latest"}, "url"),
    ({"url": "https://10.0.0.7/hook"}, "url"),
    ({"url": "https://[::ffff:127.0.0.1]/hook"}, "url"),
    ({"url": "https://hooks.example.com/x", "event_types": ["invoice.paid"]}, "event_types.0"),
    ({"url": "https://hooks.example.com/x", "event_types": ["webhook.test"]}, "event_types.0"),
    ({"url": "https://hooks.example.com/x", "tenant_ids": ["bad tenant"]}, "tenant_ids.0"),
    # A made-up key is never repeated in an error (it could be anything the caller typed): `*`.
    ({"url": "https://hooks.example.com/x", "colour": "blue"}, "*"),
]


def test_deployed_mode_refuses_bad_endpoints_with_a_4xx_naming_the_field(api: HandlerApiClient) -> None:
    for body, field in BAD_ENDPOINTS:
        result = api.post(ENDPOINTS, json_body=body)
        assert result.status == 422, (body, result.body)
        assert field in [d["field"] for d in result.json["error"]["details"]], (body, result.json)
    assert api.get(ENDPOINTS).json["items"] == []


def test_unknown_endpoint_and_platform_isolation(api: HandlerApiClient, api_handler: Any, loopback: None) -> None:
    from sevbridge import wiring
    from sevbridge.domain.platforms import create_platform

    endpoint_id = register(api, "https://hooks.example.com/x")["endpoint_id"]
    _, other_key = create_platform(wiring.platform_store(), wiring.clock(), "Other")
    other = HandlerApiClient(api_handler, api_key=other_key)
    assert other.get(f"{ENDPOINTS}/{endpoint_id}").status == 404
    assert other.get(ENDPOINTS).json["items"] == []
    assert other.delete(f"{ENDPOINTS}/{endpoint_id}").status == 404
    assert api.get(f"{ENDPOINTS}/ep_00000000000000000000").status == 404
    assert api.get(f"{ENDPOINTS}/nonsense").status == 422


def test_test_event_is_signed_as_standard_webhooks_and_logged(
    api: HandlerApiClient,
    aws: Any,
    loopback: None,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    created = register(api, receiver.url, event_types=["transfer.failed"])
    queued = api.post(f"{ENDPOINTS}/{created['endpoint_id']}/test")
    assert queued.status == 202, queued.body
    assert queued.json["status"] == "pending" and queued.json["type"] == "webhook.test"
    dispatch(aws)

    (got,) = receiver.requests
    payload = Webhook(created["secret"]).verify(got.body, got.headers)  # as a receiver does it
    assert payload["type"] == "webhook.test"
    assert payload["id"] == got.headers["webhook-id"] == queued.json["message_id"]
    assert payload["data"]["endpoint_id"] == created["endpoint_id"]
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-signature"].startswith("v1,")

    detail = delivery(api, queued.json["delivery_id"])
    assert detail["status"] == "succeeded"
    (attempt,) = detail["attempts"]
    assert attempt["status_code"] == 204 and attempt["outcome"] == "succeeded" and attempt["latency_ms"] >= 0
    assert detail["payload"] == payload
    listed = api.get(DELIVERIES, query={"endpoint_id": created["endpoint_id"]}).json["items"]
    assert [d["delivery_id"] for d in listed] == [queued.json["delivery_id"]]
    captured = capfd.readouterr()
    everything = captured.out + captured.err + caplog.text
    assert "webhook attempt" in everything  # the dispatcher's log lines were captured ...
    assert created["secret"] not in everything  # ... without the secret
    assert base64.b64encode(created["secret"].encode()).decode()[:40] not in everything  # (KMS Decrypt answer)
