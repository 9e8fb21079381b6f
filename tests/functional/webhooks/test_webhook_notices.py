"""What gets notified, when, and that nothing is lost: transfers and connections write their webhook in
the same DynamoDB transaction as the state change; a 401 storm notifies once; a crash before the wake-up
is repaired by the tick; nothing is recorded when no endpoint wants it (cost)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from tests.functional.webhooks.conftest import ENDPOINTS, deliveries, dispatch, register, tick
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.receiver import FakeClock, Receiver, verify_at
from tests.support.worker import drain

pytestmark = pytest.mark.functional
TENANT = "/v1/tenants/school-42"


def connect(api: HandlerApiClient, token: str, **settings: Any) -> dict[str, Any]:
    body = {"sevdesk_token": token, "settings": {"unit_mapping": {"h": "Std"}, **settings}}
    result = api.put(f"{TENANT}/connection", json_body=body)
    assert result.status in (200, 201), result.body
    answer: dict[str, Any] = result.json
    return answer


def outbox_deliveries(aws: Any) -> list[dict[str, Any]]:
    table = aws.environment()["OUTBOX_TABLE"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["sk"]["S"].startswith("DLV#")]


def test_transfer_outcomes_are_signed_webhooks(
    api: HandlerApiClient, aws: Any, loopback: None, receiver: Receiver, sevdesk_account: Any
) -> None:
    secret = register(api, receiver.url, event_types=["transfer.succeeded", "transfer.failed"])["secret"]
    connect(api, sevdesk_account.token)
    good = load_event("platform-invoice-upserted.json")
    bad = load_event("platform-invoice-upserted.json", id="evt-unit", data__source_id="inv-unit")
    bad["data"]["number"] = "PL-2026-999"
    bad["data"]["positions"][0]["unit"] = "Palette"
    api.post(f"{TENANT}/events", json_body={"events": [good, bad]})
    drain(aws)
    dispatch(aws)

    by_type = {r.type: Webhook(secret).verify(r.body, r.headers) for r in receiver.requests}
    assert set(by_type) == {"transfer.succeeded", "transfer.failed"} and len(receiver.requests) == 2
    ok, failed = by_type["transfer.succeeded"], by_type["transfer.failed"]
    assert ok["tenant_id"] == "school-42"
    assert ok["data"]["source_id"] == good["data"]["source_id"] and ok["data"]["sevdesk_id"]
    assert ok["data"]["event_id"] == good["id"] and ok["data"]["kind"] == "invoice"
    assert failed["data"]["source_id"] == "inv-unit" and "Palette" in failed["data"]["reason"]
    assert failed["data"]["retryable"] is False  # a missing unit needs a fix, not a retry
    transfers = api.get(f"{TENANT}/transfers").json["items"]
    assert {t["transfer_id"] for t in transfers} == {ok["data"]["transfer_id"], failed["data"]["transfer_id"]}


def test_nothing_is_recorded_when_no_endpoint_wants_it(
    api: HandlerApiClient, aws: Any, loopback: None, receiver: Receiver, sevdesk_account: Any
) -> None:
    connect(api, sevdesk_account.token)
    api.post(f"{TENANT}/events", json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)
    assert outbox_deliveries(aws) == []  # no endpoint: no outbox write at all

    register(api, receiver.url, event_types=["transfer.failed"])
    api.post(f"{TENANT}/events", json_body=load_event("platform-invoice-upserted.json", id="evt-2"))
    drain(aws)
    assert outbox_deliveries(aws) == []  # only failures wanted; this one succeeded


def test_a_401_storm_of_50_transfers_notifies_exactly_once(
    api: HandlerApiClient, aws: Any, loopback: None, receiver: Receiver, sevdesk_account: Any, sandbox_state: Any
) -> None:
    secret = register(api, receiver.url)["secret"]
    old_token = sevdesk_account.token
    connect(api, old_token)
    new_token = sandbox_state.rotate_token(sevdesk_account.account_id)  # the user was saved in sevDesk
    events = [
        load_event("platform-invoice-upserted.json", id=f"evt-{i}", data__source_id=f"inv-{i}") for i in range(50)
    ]
    for i, event in enumerate(events):
        event["data"]["number"] = f"S-{i}"
    api.post(f"{TENANT}/events", json_body={"events": events})
    drain(aws)
    dispatch(aws)

    statuses = {t["status"] for t in api.get(f"{TENANT}/transfers", query={"limit": "100"}).json["items"]}
    assert statuses == {"waiting_for_credentials"}
    (notice,) = receiver.of_type("connection.reconnect_required")
    payload = Webhook(secret).verify(notice.body, notice.headers)
    assert payload["data"]["token_fingerprint"] == "…" + old_token[-4:]
    assert payload["data"]["token_version"] == 1
    assert len(receiver.requests) == 1  # parked transfers are neither succeeded nor failed
    # A test against sevDesk with the dead token is the same incident: still one.
    api.post(f"{TENANT}/connection/test")
    dispatch(aws)
    assert len(receiver.of_type("connection.reconnect_required")) == 1

    resumed = api.put(f"{TENANT}/connection", json_body={"sevdesk_token": new_token})
    assert resumed.json["resumed_transfers"] == 50
    dispatch(aws)
    (restored,) = receiver.of_type("connection.restored")
    assert Webhook(secret).verify(restored.body, restored.headers)["data"]["restored_by"] == "new_token"


def test_crash_between_state_change_and_enqueue_loses_nothing(
    api: HandlerApiClient,
    aws: Any,
    clock: FakeClock,
    receiver: Receiver,
    sevdesk_account: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sevbridge.adapters.sqs_webhook_queue import SqsDispatchQueue

    secret = register(api, receiver.url, event_types=["transfer.succeeded"])["secret"]
    connect(api, sevdesk_account.token)
    real_enqueue = SqsDispatchQueue.enqueue

    def die(self: SqsDispatchQueue, messages: Any) -> int:
        raise SystemExit("the worker died right after the ledger transaction committed")

    monkeypatch.setattr(SqsDispatchQueue, "enqueue", die)
    api.post(f"{TENANT}/events", json_body=load_event("platform-invoice-upserted.json"))
    with pytest.raises(SystemExit):
        drain(aws)
    monkeypatch.setattr(SqsDispatchQueue, "enqueue", real_enqueue)
    (transfer,) = api.get(f"{TENANT}/transfers").json["items"]
    assert transfer["status"] == "transferred"  # the state change committed...
    (pending,) = deliveries(api)
    assert pending["status"] == "pending" and pending["attempt_count"] == 0  # ...and its webhook with it
    drain(aws)  # the redelivered transfer message: already done, no second webhook
    assert len(deliveries(api)) == 1
    assert dispatch(aws) == 0 and receiver.requests == []  # nobody woke the dispatcher

    tick()  # within the grace period the tick leaves it alone
    assert dispatch(aws) == 0
    clock.advance(timedelta(minutes=11))
    tick()  # overdue: the tick sends it
    dispatch(aws)
    (got,) = receiver.requests
    assert verify_at(secret, got)["data"]["transfer_id"] == transfer["transfer_id"]
    assert deliveries(api)[0]["status"] == "succeeded"
    tick()
    assert dispatch(aws) == 0 and len(receiver.requests) == 1


def test_a_queue_outage_after_the_commit_is_repaired_by_the_tick(
    api: HandlerApiClient,
    aws: Any,
    clock: FakeClock,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import botocore.exceptions

    from sevbridge.adapters import aws_clients

    endpoint_id = register(api, receiver.url)["endpoint_id"]

    class DownSqs:
        def send_message_batch(self, **kwargs: Any) -> Any:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://sqs.eu-central-1.amazonaws.com")

    real_sqs = aws_clients.sqs
    monkeypatch.setattr(aws_clients, "sqs", DownSqs)
    queued = api.post(f"{ENDPOINTS}/{endpoint_id}/test")
    assert queued.status == 202  # recorded; the wake-up failed, was logged, and is not the caller's problem
    assert "webhook queue unavailable" in caplog.text
    monkeypatch.setattr(aws_clients, "sqs", real_sqs)
    assert dispatch(aws) == 0
    clock.advance(timedelta(minutes=11))
    tick()
    dispatch(aws)
    assert len(receiver.requests) == 1
    assert deliveries(api)[0]["status"] == "succeeded"


def test_the_secret_never_reaches_logs_during_a_whole_flow(
    api: HandlerApiClient,
    aws: Any,
    loopback: None,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import base64

    caplog.set_level(logging.DEBUG)  # even at DEBUG (botocore would log KMS plaintexts if not held back)
    created = register(api, receiver.url)
    rotated = api.post(f"{ENDPOINTS}/{created['endpoint_id']}/rotate-secret").json
    api.post(f"{ENDPOINTS}/{created['endpoint_id']}/test")
    dispatch(aws)
    captured = capfd.readouterr()
    output = caplog.text + captured.out + captured.err
    assert "webhook attempt" in output
    for secret in (created["secret"], rotated["secret"]):
        for form in (secret, secret.removeprefix("whsec_"), base64.b64encode(secret.encode()).decode()[:40]):
            assert form not in output
