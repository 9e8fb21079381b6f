"""How failed transfers come back: after their own growing backoff (ChangeMessageVisibility), a failed
tenant group together and in order, pauses without using up attempts, nothing left `sending` when the
invocation runs out of time, and unreadable messages quickly in the dead-letter queue."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local_stack.lambda_context import LocalLambdaContext
from local_stack.pollers import sqs_event
from sevbridge import wiring
from sevbridge.adapters import aws_clients
from sevbridge.adapters.sevdesk import default_brake
from sevbridge.domain.connections import tenant_key
from sevdesk_sandbox.faults import Fault
from tests.functional.conftest import load_function
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain, queue_depth, source_for

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
TRANSFERS = "/v1/tenants/school-42/transfers"
# One whole attempt's worth of failing marker lookups: 2 client attempts x 5 settling rounds.
ONE_ATTEMPT_OF_LOOKUPS = 10


def _configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    wiring.reset()


def _record_hold_backs() -> list[list[dict[str, Any]]]:
    calls: list[list[dict[str, Any]]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["Entries"])

    aws_clients.sqs().meta.events.register("provide-client-params.sqs.ChangeMessageVisibilityBatch", record)
    return calls


def _details(api: HandlerApiClient) -> list[dict[str, Any]]:
    items = api.get(TRANSFERS).json["items"]
    return [api.get(f"{TRANSFERS}/{t['transfer_id']}").json for t in sorted(items, key=lambda t: t["transfer_id"])]


def _drain_until(aws: Any, done: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "transfers did not settle in time"
        drain(aws)
        time.sleep(0.1)


def _fail_one_attempt_of_marker_lookups(sandbox_state: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ten 503s in a row would rightly trip the brake (a pause, tested below); here they must fail the attempt.
    monkeypatch.setattr(default_brake, "max_errors", 1000)
    sandbox_state.add_fault(
        Fault(kind="status", status=503, method="GET", path_pattern="^/Invoice$", times=ONE_ATTEMPT_OF_LOOKUPS)
    )


def test_a_failed_transfer_comes_back_after_its_backoff(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, TRANSFER_RETRY_DELAYS="4,30")
    held = _record_hold_backs()
    _fail_one_attempt_of_marker_lookups(sandbox_state, monkeypatch)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))

    assert drain(aws) == 1
    held_at = time.monotonic()
    [waiting] = _details(api)
    assert (waiting["status"], waiting["attempts"]) == ("queued", 1)
    assert waiting["history"][-1]["note"].startswith("will retry in 4s: GET /Invoice: HTTP 503")
    [[entry]] = held
    assert entry["VisibilityTimeout"] in (4, 5)  # 4 s, jittered by up to 10 %, in whole seconds
    assert queue_depth(aws, "TransferQueue") == 1
    assert drain(aws) == 0  # held back: not delivered before its time (on AWS: not after 18 minutes either)
    assert time.monotonic() - held_at < 4

    time.sleep(max(0.0, entry["VisibilityTimeout"] + 0.2 - (time.monotonic() - held_at)))
    assert drain(aws) == 1
    [done] = _details(api)
    assert (done["status"], done["attempts"]) == ("transferred", 2)
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_a_failed_group_is_held_back_together_in_order(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One lane: the first record fails and the other two wait behind it (lanes: test_lanes.py).
    _configure(monkeypatch, TRANSFER_RETRY_DELAYS="1", TRANSFER_LANES_PER_TENANT="1")
    held = _record_hold_backs()
    events = [
        load_event("platform-invoice-upserted.json", id=f"evt-{i}", data__source_id=f"inv-{i}", data__number=f"R-{i}")
        for i in range(3)
    ]
    api.post(EVENTS, json_body={"events": events})
    _fail_one_attempt_of_marker_lookups(sandbox_state, monkeypatch)
    received = boto3.client("sqs").receive_message(
        QueueUrl=source_for(aws, "TransferQueue").queue.url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    messages_in_order = [m["ReceiptHandle"] for m in received]
    assert len(messages_in_order) == 3
    result = load_function("transfer_worker").lambda_handler(
        sqs_event(received, queue_arn=source_for(aws, "TransferQueue").queue.arn, region=aws.region),
        LocalLambdaContext("transfer-worker", "arn:aws:lambda:::function:transfer-worker", 512, 180),
    )

    assert len(result["batchItemFailures"]) == 3  # the first failed, the other two kept their place behind it
    [entries] = held
    assert [e["ReceiptHandle"] for e in entries] == messages_in_order
    assert len({e["VisibilityTimeout"] for e in entries}) == 1  # the whole group comes back together
    assert [t["attempts"] for t in _details(api)] == [1, 0, 0]  # only the first was attempted

    _drain_until(aws, lambda: {t["status"] for t in _details(api)} == {"transferred"})
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 3


def test_a_rate_limit_pause_delays_the_transfer_without_using_up_attempts(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, TRANSFER_MAX_ATTEMPTS="1")
    # Retry-After 1 s is longer than this suite's longest in-process wait (0.05 s): the work is paused.
    sandbox_state.add_fault(
        Fault(kind="rate_limit", retry_after=1, method="POST", path_pattern="^/Invoice/Factory/saveInvoice$", times=2)
    )
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))

    _drain_until(aws, lambda: _details(api)[0]["status"] != "queued")

    [transfer] = _details(api)
    assert (transfer["status"], transfer["attempts"]) == ("transferred", 1)
    notes = [h["note"] for h in transfer["history"] if h["status"] == "queued"][1:]
    assert len(notes) == 2 and all(
        n.startswith("paused for 1s: POST /Invoice/Factory/saveInvoice: HTTP 429") for n in notes
    )
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_a_brake_pause_delays_the_transfer_without_failing_it(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, TRANSFER_MAX_ATTEMPTS="1")
    # The brake's clock stands still until the test moves it: however slow the machine, the transfer
    # meets the brake engaged (no wall-clock pause to outlast), and finds it released once moved on.
    brake_now = [time.monotonic()]
    monkeypatch.setattr(default_brake, "_clock", lambda: brake_now[0])
    monkeypatch.setattr(default_brake, "pause", 1.0)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    for _ in range(default_brake.max_errors):
        default_brake.record_error(tenant_key(platform_id, "school-42"))
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    requests_before = len(sandbox_state.requests(connected.account_id))

    assert drain(aws) >= 1  # delivered, paused (held back 1 s), perhaps delivered and paused again
    [paused] = _details(api)
    assert paused["status"] == "queued"
    assert re.match(r"paused for 1s: .*too many sevDesk errors", paused["history"][-1]["note"] or "")
    assert len(sandbox_state.requests(connected.account_id)) == requests_before  # the brake sent nothing

    brake_now[0] += 1.0  # the pause is over
    _drain_until(aws, lambda: _details(api)[0]["status"] != "queued")

    [transfer] = _details(api)
    assert (transfer["status"], transfer["attempts"]) == ("transferred", 1)  # paused, never failed


def _invoke_with(aws: Any, seconds: int) -> dict[str, Any]:
    source = source_for(aws, "TransferQueue")
    received = boto3.client("sqs").receive_message(
        QueueUrl=source.queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
    )["Messages"]
    event = sqs_event(received, queue_arn=source.queue.arn, region=aws.region)
    context = LocalLambdaContext("transfer-worker", "arn:aws:lambda:::function:transfer-worker", 512, seconds)
    result: dict[str, Any] = load_function("transfer_worker").lambda_handler(event, context)
    return result


def test_without_time_to_start_a_transfer_is_handed_back_untouched(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    calls_before = len(sandbox_state.requests(connected.account_id))

    result = _invoke_with(aws, seconds=6)  # 1 s left after the reserve; starting needs 2 x 1.5 s

    assert len(result["batchItemFailures"]) == 1
    [transfer] = _details(api)
    assert (transfer["status"], transfer["attempts"]) == ("queued", 0)
    assert len(sandbox_state.requests(connected.account_id)) == calls_before  # sevDesk never called
    drain(aws)  # back at once
    assert _details(api)[0]["status"] == "transferred"


def test_running_out_of_time_mid_transfer_leaves_nothing_sending(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    sandbox_state.add_fault(Fault(kind="latency", delay_seconds=1.0, method="GET", times=3))

    result = _invoke_with(aws, seconds=9)  # 4 s to work with: three slow calls, then no time for a fourth

    assert len(result["batchItemFailures"]) == 1
    [transfer] = _details(api)
    assert (transfer["status"], transfer["attempts"]) == ("queued", 1)
    assert "too little time left" in transfer["history"][-1]["note"]
    drain(aws)  # back at once, continues where it stopped
    [done] = _details(api)
    assert (done["status"], done["attempts"]) == ("transferred", 2)
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_an_unreadable_message_reaches_the_dead_letter_queue_quickly(aws: Any) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=source_for(aws, "TransferQueue").queue.url,
        MessageBody="not a transfer",
        MessageGroupId="T#plt#school-42",
        MessageDeduplicationId="bad-1",
    )
    started = time.monotonic()
    drain(aws, max_batches=200)
    assert queue_depth(aws, "TransferDLQ") == 1
    assert queue_depth(aws, "TransferQueue") == 0
    assert time.monotonic() - started < 30
