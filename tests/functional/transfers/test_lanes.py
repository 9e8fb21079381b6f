"""One tenant's batch runs in lanes (domain/lanes.py, workers/transfers.py): transfers that touch
different documents overlap, the versions of one document stay in order, a customer is created once
however many of its invoices run side by side, a failure stops only its own lane, and a 429 pauses
every lane of the tenant. Real handlers, moto and the sandbox; each test checks that lanes were used,
so none passes by running the batch one record at a time."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local_stack.lambda_context import LocalLambdaContext
from local_stack.pollers import sqs_event
from sevbridge import wiring
from sevbridge.adapters import aws_clients
from sevbridge.adapters.sevdesk import default_brake
from sevbridge.workers import transfers as worker
from sevdesk_sandbox.faults import Fault
from tests.functional.conftest import load_function
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain, source_for

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
TRANSFERS = "/v1/tenants/school-42/transfers"


@dataclass
class Run:
    transfer_id: str
    thread: str
    started: float
    ended: float


def _invoice(source_id: str, *, status: str = "sent", at: str = "2026-11-21T14:00:00+01:00", **over: Any) -> Any:
    overrides = {
        "id": f"evt-{source_id}-{status}",
        "occurred_at": at,
        "data__source_id": source_id,
        "data__number": f"PL-{source_id}",
        "data__status": status,
        **over,
    }
    return load_event("platform-invoice-upserted.json", **overrides)


def _new_customer(source_id: str, last_name: str) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "first_name": "Nina",
        "last_name": last_name,
        "emails": [f"{source_id}@example.org"],
        "billing_address": {"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"},
    }


def _warm_up(api: HandlerApiClient, aws: Any) -> None:
    """The template's customer mapped and the tenant's reference data cached, as in a running system."""
    assert api.post(EVENTS, json_body=_invoice("warm-up")).status == 202
    assert drain(aws) == 1


def _record_runs(monkeypatch: pytest.MonkeyPatch) -> list[Run]:
    runs: list[Run] = []
    handle = worker.handle_record

    def recording(record: Any) -> None:
        started = time.monotonic()
        try:
            handle(record)
        finally:
            transfer_id = json.loads(record.body)["transfer_id"]
            runs.append(Run(transfer_id, threading.current_thread().name, started, time.monotonic()))

    monkeypatch.setattr(worker, "handle_record", recording)
    return runs


def _one_batch(aws: Any, expected: int) -> tuple[dict[str, Any], dict[str, Any]]:
    source = source_for(aws, "TransferQueue")
    messages: list[Any] = []
    for _ in range(5):
        messages += (
            boto3.client("sqs")
            .receive_message(QueueUrl=source.queue.url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
            .get("Messages", [])
        )
        if len(messages) >= expected:
            break
    assert len(messages) == expected
    event = sqs_event(messages, queue_arn=source.queue.arn, region=aws.region)
    context = LocalLambdaContext("transfer-worker", "arn:aws:lambda:::function:transfer-worker", 512, 120)
    return event, load_function("transfer_worker").lambda_handler(event, context)


def _transfers(api: HandlerApiClient) -> dict[str, dict[str, Any]]:
    """By source id; a document with several transfers: the key gets the event's status appended."""
    found: dict[str, dict[str, Any]] = {}
    for item in sorted(api.get(TRANSFERS).json["items"], key=lambda t: t["transfer_id"]):
        key = item["source_id"] if item["source_id"] not in found else f"{item['source_id']}+"
        found[key] = item
    return found


def _failed_ids(result: dict[str, Any], event: dict[str, Any]) -> set[str]:
    """The transfer ids of the records reported failed."""
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    return {json.loads(r["body"])["transfer_id"] for r in event["Records"] if r["messageId"] in failed}


def test_versions_of_one_document_run_in_order_beside_other_documents(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _warm_up(api, aws)
    runs = _record_runs(monkeypatch)
    events = [
        _invoice("A"),
        _invoice("K1"),
        _invoice("A", status="paid", at="2026-11-22T09:00:00+01:00"),
        _invoice("K2"),
    ]
    assert api.post(EVENTS, json_body={"events": events}).status == 202

    _, result = _one_batch(aws, 4)

    assert result["batchItemFailures"] == []
    transfers = _transfers(api)
    first, second = transfers["A"], transfers["A+"]
    # Had v2 (paid) run first, v1 (sent) would have been skipped as older than what sevDesk holds.
    assert (first["status"], second["status"]) == ("transferred", "transferred")
    by_id = {r.transfer_id: r for r in runs}
    v1, v2 = by_id[first["transfer_id"]], by_id[second["transfer_id"]]
    assert v1.thread == v2.thread and v1.ended <= v2.started
    assert len({r.thread for r in runs}) >= 2, "the batch ran in one lane: nothing overlapped"
    [invoice] = [i for i in sandbox_state.objects(connected.account_id, "Invoice") if i["invoiceNumber"] == "PL-A"]
    assert str(invoice["status"]) == "1000"
    assert transfers["K1"]["status"] == transfers["K2"]["status"] == "transferred"


def test_a_new_customer_is_created_once_when_its_invoices_run_side_by_side(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _warm_up(api, aws)
    runs = _record_runs(monkeypatch)
    # Four invoices of one new customer, and one of another new customer; none carries a customer
    # number, so each new contact gets sevDesk's next free one.
    events = [_invoice(f"N{i}", data__customer=_new_customer("cust-new", "Neumann")) for i in range(4)]
    events.insert(2, _invoice("O1", data__customer=_new_customer("cust-other", "Otto")))
    assert api.post(EVENTS, json_body={"events": events}).status == 202

    _, result = _one_batch(aws, 5)

    assert result["batchItemFailures"] == []
    assert len({r.thread for r in runs}) >= 2, "the batch ran in one lane: nothing overlapped"
    contacts = sandbox_state.objects(connected.account_id, "Contact")
    neumann = [c for c in contacts if c.get("familyname") == "Neumann"]
    otto = [c for c in contacts if c.get("familyname") == "Otto"]
    assert len(neumann) == 1 and len(otto) == 1
    numbers = [c.get("customerNumber") for c in contacts]
    assert len(numbers) == len(set(numbers)), f"two contacts share a customer number: {numbers}"
    invoices = [i for i in sandbox_state.objects(connected.account_id, "Invoice") if i["invoiceNumber"] != "PL-warm-up"]
    assert len(invoices) == 5
    assert {str(i["contact"]["id"]) for i in invoices if i["invoiceNumber"].startswith("PL-N")} == {
        str(neumann[0]["id"])
    }


def test_a_failed_transfer_stops_its_lane_and_the_others_complete(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEVDESK_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SEVDESK_MAX_BACKOFF_SECONDS", "0")
    wiring.reset()
    monkeypatch.setattr(default_brake, "max_errors", 1000)  # the 503s must fail the attempt, not pause it
    _warm_up(api, aws)
    runs = _record_runs(monkeypatch)
    new = _new_customer("cust-down", "Ausfall")
    events = [
        _invoice("N", data__customer=new),
        _invoice("K1"),
        _invoice("N", status="paid", at="2026-11-22T09:00:00+01:00", data__customer=new),
        _invoice("K2"),
    ]
    assert api.post(EVENTS, json_body={"events": events}).status == 202
    # Every contact request fails: only the invoice of the new customer needs one.
    sandbox_state.add_fault(
        Fault(kind="status", status=503, account_id=connected.account_id, path_pattern="^/Contact", times=None)
    )

    event, result = _one_batch(aws, 4)

    transfers = _transfers(api)
    failed, later = transfers["N"], transfers["N+"]
    assert _failed_ids(result, event) == {failed["transfer_id"], later["transfer_id"]}
    assert (failed["status"], failed["attempts"]) == ("queued", 1)
    assert (later["status"], later["attempts"]) == ("queued", 0)  # never started: it must not overtake
    assert later["transfer_id"] not in {r.transfer_id for r in runs}
    assert transfers["K1"]["status"] == transfers["K2"]["status"] == "transferred"
    assert len({r.thread for r in runs}) >= 2, "the batch ran in one lane: nothing overlapped"


def test_a_429_pauses_every_lane_of_the_tenant(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _warm_up(api, aws)
    held: list[dict[str, Any]] = []
    aws_clients.sqs().meta.events.register(
        "provide-client-params.sqs.ChangeMessageVisibilityBatch", lambda params, **_: held.extend(params["Entries"])
    )
    events = [_invoice(f"K{i}") for i in range(6)]
    assert api.post(EVENTS, json_body={"events": events}).status == 202
    sandbox_state.add_fault(
        Fault(
            kind="rate_limit",
            retry_after=30,
            account_id=connected.account_id,
            path_pattern="^/Invoice/Factory/saveInvoice",
            times=1,
        )
    )

    event, result = _one_batch(aws, 6)

    log = sandbox_state.requests(connected.account_id)
    throttled = next(i for i, r in enumerate(log) if r.status == 429)
    assert log[throttled + 1 :] == [], "a lane sent a request after sevDesk asked the tenant to wait"
    transfers = _transfers(api)
    waiting = [t for t in transfers.values() if t["status"] != "transferred"]
    assert waiting and all(t["status"] == "queued" for t in waiting)
    assert _failed_ids(result, event) == {t["transfer_id"] for t in waiting}
    assert len(held) == len(waiting) and all(entry["VisibilityTimeout"] >= 29 for entry in held)
    # Nothing was lost: a pause is not an attempt, and the invoices not created are not in sevDesk.
    assert all(t["attempts"] == 0 for t in waiting)


def test_new_contacts_side_by_side_in_a_fresh_account_share_one_marker_setting(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No warm-up: the account has no contact marked by sevbridge yet, so the first create also creates
    # the custom-field setting the markers hang on; lanes must not create it twice.
    runs = _record_runs(monkeypatch)
    events = [
        load_event(
            "platform-contact-upserted.json",
            id=f"evt-c{i}",
            data__source_id=f"c{i}",
            data__customer_number=None,
            data__invoices=[],
        )
        for i in range(4)
    ]
    assert api.post(EVENTS, json_body={"events": events}).status == 202

    _, result = _one_batch(aws, 4)

    assert result["batchItemFailures"] == []
    assert len({r.thread for r in runs}) >= 2, "the batch ran in one lane: nothing overlapped"
    assert len(sandbox_state.objects(connected.account_id, "ContactCustomFieldSetting")) == 1
    markers = [
        str(f["value"]).rsplit(":", 1)[-1] for f in sandbox_state.objects(connected.account_id, "ContactCustomField")
    ]
    assert sorted(markers) == ["c0", "c1", "c2", "c3"]
    assert len(sandbox_state.objects(connected.account_id, "Contact")) == 4


def test_a_contact_without_number_never_takes_the_successor_of_a_platform_number(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    # Lanes create a tenant's new contacts in any order; a contact without a number must get one from
    # sevDesk's sequence, not "K-2" guessed after the platform's "K-1" — K-2 is the next platform contact's.
    def contact(source_id: str, number: str | None) -> dict[str, Any]:
        return load_event(
            "platform-contact-upserted.json",
            id=f"evt-{source_id}",
            data__source_id=source_id,
            data__customer_number=number,
            data__invoices=[],
        )

    for event in (contact("with-k1", "K-1"), contact("without", None), contact("with-k2", "K-2")):
        assert api.post(EVENTS, json_body=event).status == 202
        assert drain(aws) == 1

    assert {t["source_id"]: t["status"] for t in _transfers(api).values()} == {
        "with-k1": "transferred",
        "without": "transferred",
        "with-k2": "transferred",
    }
    numbers = sorted(str(c.get("customerNumber")) for c in sandbox_state.objects(connected.account_id, "Contact"))
    assert "K-1" in numbers and "K-2" in numbers and len(set(numbers)) == 3
