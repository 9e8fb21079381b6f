"""AWS calls and read units per document (issue 10), counted with the bench's botocore hook
(benchmarks/aws_calls.py) around the real handlers against moto: each read that is left is named in
docs/ledger.md, and these tests fail when one that was cut comes back."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.aws_calls import counting
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_seed import queued_invoice
from tests.support.worker import drain, queue_depth

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
LOOKUP = "/v1/tenants/school-42/transfers/lookup"


def invoice_event(n: int) -> dict[str, Any]:
    return load_event(
        "platform-invoice-upserted.json",
        id=f"evt-calls-{n}",
        data__source_id=f"inv-calls-{n}",
        data__number=f"PL-2026-{800 + n}",
    )


def _clients() -> tuple[Any, ...]:
    from sevbridge.adapters import aws_clients

    return aws_clients.dynamodb(), aws_clients.sqs(), aws_clients.kms()


def test_a_batch_of_new_events_costs_one_conditional_write_per_event_and_batched_rest(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    events = [invoice_event(n) for n in range(100)]
    with counting(_clients()) as calls:
        result = api.post(EVENTS, json_body={"events": events})
    assert result.status == 202, result.body
    # Per event: the pointer (conditional: order per document; it carries the event id, so no receipt).
    # Per request: the API key and the connection, the pointers read in one BatchGetItem, the messages 10
    # per SendMessageBatch (they carry the documents: no transfer item). No GetItem or PutItem per event.
    assert dict(calls.calls) == {
        "dynamodb.GetItem": 2,
        "dynamodb.BatchGetItem": 1,
        "dynamodb.UpdateItem": 100,
        "sqs.SendMessageBatch": 10,
    }, calls.calls
    # Was 1.17 with the transfer items (25 per BatchWriteItem), 2.17 with the receipt's PutItem per event.
    assert calls.total / len(events) == 1.13
    # Read units: the key and the connection, and each pointer read once (consistent: 1 unit each).
    assert calls.read_units == 2 + 100
    with counting(_clients()) as again:
        assert api.post(EVENTS, json_body={"events": events}).json == result.json  # duplicates: the same answer
    # A redelivery: the pointers it reads anyway name the events, so nothing is written; they also hold
    # the transfers' state, so those still `queued` are re-sent (the queue drops them as copies) with no
    # further read. Was a BatchGetItem of the transfer items; before, a failed PutItem and a BatchGetItem
    # per event.
    assert dict(again.calls) == {
        "dynamodb.GetItem": 2,
        "dynamodb.BatchGetItem": 1,
        "sqs.SendMessageBatch": 10,
    }, again.calls


def test_intake_stopped_between_two_pointers_is_completed_by_the_platforms_retry(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any
) -> None:
    """The first event's pointer written, the second's not, no message sent (the process died): the
    request was not answered 202. Its redelivery finds the first event on its pointer — it sends that
    transfer under the id the pointer names — and records the second as new; each invoice is sent once."""
    from botocore.exceptions import EndpointConnectionError

    from sevbridge.adapters import aws_clients

    writes = {"left": 1}

    def second_fails(**_: Any) -> None:
        if writes["left"] == 0:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-central-1.amazonaws.com")
        writes["left"] -= 1

    client = aws_clients.dynamodb()
    client.meta.events.register("before-call.dynamodb.UpdateItem", second_fails)
    try:
        first = api.post(EVENTS, json_body={"events": [invoice_event(1), invoice_event(2)]})
    finally:
        client.meta.events.unregister("before-call.dynamodb.UpdateItem", second_fails)
    assert first.status >= 500, first.body
    documents = [{"kind": "invoice", "source_id": f"inv-calls-{n}"} for n in (1, 2)]
    before = api.post(LOOKUP, json_body={"documents": documents}).json["documents"]
    assert [d["status"] for d in before] == ["queued", "not_transferred"]
    shown = api.get(f"/v1/tenants/school-42/transfers/{before[0]['transfer_id']}")  # it has no item:
    assert (shown.status, shown.json["status"]) == (200, "queued")  # read from the pointer its id names
    assert queue_depth(aws, "TransferQueue") == 0  # but never sent

    second = api.post(EVENTS, json_body={"events": [invoice_event(1), invoice_event(2)]})
    assert second.status == 202, second.body
    ids = [r["transfers"][0]["transfer_id"] for r in second.json["results"]]
    assert ids[0] == before[0]["transfer_id"]  # the id the first delivery's pointer named
    after = api.post(LOOKUP, json_body={"documents": documents}).json["documents"]
    assert [(d["status"], d["transfer_id"]) for d in after] == [("queued", ids[0]), ("queued", ids[1])]
    drain(aws)
    assert [api.get(f"/v1/tenants/school-42/transfers/{i}").json["status"] for i in ids] == ["transferred"] * 2
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 2
    assert api.post(EVENTS, json_body={"events": [invoice_event(1), invoice_event(2)]}).json == second.json


def test_a_stale_pointer_read_never_puts_an_older_state_back(connected: Any) -> None:
    """Intake reads a request's pointers in one BatchGetItem, a moment before it writes them. If one
    changed meanwhile (another request moved it to a newer transfer, whose own worker then recorded its
    outcome), archiving what was read must not overwrite the newer state on the transfer's own item:
    the pointer write fails on its revision and is redone on what is there now."""
    from datetime import UTC, datetime, timedelta

    from sevbridge import wiring
    from sevbridge.adapters.dynamo_items import tenant_pk
    from sevbridge.domain.intake_models import DocumentKey
    from sevbridge.domain.ledger import TransferKind, TransferStatus

    ledger = wiring.ledger()
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    start = datetime(2026, 11, 21, 13, tzinfo=UTC)
    t1, t2, t3 = (
        queued_invoice(platform_id, "inv-race", f"evt-{n}", version=start + timedelta(minutes=n), at=start)
        for n in (1, 2, 3)
    )
    ledger.record_transfers([t1])
    stale = ledger._pointer({"pk": tenant_pk(platform_id, "school-42"), "sk": "DOC#invoice#inv-race"})
    ledger.record_transfers([t2])  # another request: t1's state archived, the pointer moves to t2
    now = start + timedelta(minutes=5)
    running = ledger.get(platform_id, "school-42", t1.transfer_id)
    assert running is not None
    sending = ledger.save(running.moved_to(TransferStatus.SENDING, now, "attempt 1", attempts=1))
    ledger.save(sending.moved_to(TransferStatus.TRANSFERRED, now, "done", sevdesk_id="9"))  # onto its own item

    ledger._point_to(t3, stale)  # the request that read `stale` before all this now writes t3's pointer

    first = ledger.get(platform_id, "school-42", t1.transfer_id)
    second = ledger.get(platform_id, "school-42", t2.transfer_id)
    assert first is not None and second is not None
    assert (first.status, first.sevdesk_id) == (TransferStatus.TRANSFERRED, "9")  # not `queued` again
    assert second.status is TransferStatus.QUEUED  # archived when t3 took the pointer over
    (state,) = ledger.lookup(platform_id, "school-42", [DocumentKey(kind=TransferKind.INVOICE, source_id="inv-race")])
    assert state is not None and state.transfer_id == t3.transfer_id


def test_the_worker_reads_each_sent_invoice_in_two_calls_and_the_connection_once_per_batch(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any
) -> None:
    assert api.post(EVENTS, json_body=invoice_event(0)).status == 202  # the customer becomes known
    drain(aws)
    assert api.post(EVENTS, json_body={"events": [invoice_event(n) for n in range(1, 11)]}).status == 202
    with counting(_clients()) as calls:
        assert drain(aws) == 10  # one batch: SQS hands over at most 10 records
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 11
    # Per invoice: its document's pointer (GetItem: the message carries the document, so no transfer item;
    # the live claim is this consistent read, no write; the invoice's mapping is on the same item and
    # comes with it), the customer's mapping (read under its lock: a fresh read is what keeps a second
    # create away); the outcome, which carries the invoice's mapping (no write of its own). Per batch: the
    # tenant's connection, once. Was a BatchGetItem of transfer item and pointer and a GetItem of the
    # invoice's mapping: 4 read units per invoice.
    dynamodb = {name: n for name, n in calls.calls.items() if name.startswith("dynamodb.")}
    assert dynamodb == {
        "dynamodb.GetItem": 2 * 10 + 1,
        "dynamodb.UpdateItem": 10,
    }, calls.calls
    assert calls.kms == 0  # the token's decryption is cached per container
    assert calls.read_units == 10 * 2 + 1


def test_a_message_naming_another_document_still_gets_the_transfers_own_state(connected: Any) -> None:
    """The worker reads the transfer and the pointer its message names together; should the message
    name another document, the transfer's own document's pointer is read by key, not the wrong one."""
    from datetime import UTC, datetime

    from sevbridge import wiring
    from sevbridge.domain.intake_models import DocumentKey
    from sevbridge.domain.ledger import TransferKind, TransferStatus

    ledger = wiring.ledger()
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    now = datetime(2026, 11, 21, 13, tzinfo=UTC)
    transfer = queued_invoice(platform_id, "inv-hint", "evt-hint", version=now, at=now)
    ledger.record_transfers([transfer])
    ledger.save(transfer.moved_to(TransferStatus.SENDING, now, "attempt 1", attempts=1))  # on the pointer only
    for hint in (DocumentKey(kind=TransferKind.INVOICE, source_id="inv-hint"), None):
        read = ledger.get(platform_id, "school-42", transfer.transfer_id, document=hint)
        assert read is not None and (read.status, read.attempts) == (TransferStatus.SENDING, 1)
    wrong = DocumentKey(kind=TransferKind.CONTACT, source_id="inv-hint")
    read = ledger.get(platform_id, "school-42", transfer.transfer_id, document=wrong)
    assert read is not None and (read.status, read.attempts) == (TransferStatus.SENDING, 1)
    assert ledger.get(platform_id, "school-42", "tr_0000000000000000000000", document=wrong) is None
