"""Where a transfer's document lives (docs/ledger.md, "Items"): in its queue message on the happy path —
no `TRANSFER#` item — and on the transfer's own item only off it, written by whoever has the document:
the worker before a failed or parked pointer and on a message's second receive, the archive step (state
only) when a newer transfer takes the pointer, intake for a document too big for its message. Each test
fails when its rule is taken out."""

from __future__ import annotations

import json
import time
import zlib
from datetime import timedelta
from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.adapters import transfer_message
from sevbridge.domain.intake_models import DocumentKey
from sevbridge.domain.ledger import TransferKind, TransferStatus
from sevbridge.domain.transfer_runner import Delivery, RetryLater
from sevbridge.workers.transfers import runner
from sevdesk_sandbox.faults import Fault
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_items import transfer_items
from tests.support.sent_messages import SentMessages
from tests.support.worker import drain, source_for

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
TRANSFERS = "/v1/tenants/school-42/transfers"
SAVE = "/Invoice/Factory/saveInvoice"


def platform() -> str:
    return wiring.connection_store().list_connections()[0].platform_id


def post(api: HandlerApiClient, event: dict[str, Any]) -> str:
    answer = api.post(EVENTS, json_body=event)
    assert answer.status == 202, answer.body
    return str(answer.json["results"][0]["transfers"][0]["transfer_id"])


def item_document(item: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(zlib.decompress(item["doc"]["B"]))
    return document


def item_state(item: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(zlib.decompress(item["st"]["B"]))
    return state


def saves(state: Any, account: Any) -> int:
    return len([r for r in state.requests(account.account_id) if r.path == SAVE])


def status_of(source_id: str) -> Any:
    (state,) = wiring.ledger().lookup(
        platform(), "school-42", [DocumentKey(kind=TransferKind.INVOICE, source_id=source_id)]
    )
    assert state is not None
    return state


def test_a_live_transfer_on_the_happy_path_writes_no_transfer_item(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, sent: SentMessages
) -> None:
    transfer_id = post(api, load_event("platform-invoice-upserted.json"))
    carried = sent.document(transfer_id)
    assert carried is not None and carried.payload["source_id"] == "inv-2026-020"  # the message carries it
    drain(aws)

    assert transfer_items() == []
    done = status_of("inv-2026-020")
    assert (done.transfer_id, done.status) == (transfer_id, TransferStatus.TRANSFERRED)
    (invoice,) = sandbox_state.objects(connected.account_id, "Invoice")
    assert done.sevdesk_id == str(invoice["id"])


def test_a_document_too_big_for_its_message_is_stored_on_its_item(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, sent: SentMessages, monkeypatch: Any
) -> None:
    monkeypatch.setattr(transfer_message, "MAX_CARRIED_BYTES", 300)  # an invoice's document is ~700 B
    transfer_id = post(api, load_event("platform-invoice-upserted.json"))
    assert sent.document(transfer_id) is None  # the message names the transfer only
    (item,) = transfer_items()
    assert item_document(item)["payload"]["source_id"] == "inv-2026-020"
    drain(aws)  # the worker reads the document from the item
    assert status_of("inv-2026-020").status is TransferStatus.TRANSFERRED
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_a_failed_transfer_is_stored_first_and_its_retry_sends_the_same_document_once(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, sent: SentMessages
) -> None:
    sandbox_state.add_fault(
        Fault(kind="status", status=400, account_id=connected.account_id, path_pattern=r"^/Invoice/\d+/sendBy$")
    )
    transfer_id = post(api, load_event("platform-invoice-upserted.json"))
    first = sent.document(transfer_id)
    drain(aws)
    assert status_of("inv-2026-020").status is TransferStatus.FAILED
    # The failure wrote the transfer's item (document and state) before its pointer said `failed`: the
    # retry re-sends from it.
    (item,) = transfer_items()
    assert item["sk"]["S"] == f"TRANSFER#{transfer_id}"
    assert first is not None and item_document(item)["payload"] == first.payload

    assert api.post(f"{TRANSFERS}/{transfer_id}/retry").status in (200, 202)
    assert sent.document(transfer_id) == first  # the retry's message carries the same document
    drain(aws)
    assert status_of("inv-2026-020").status is TransferStatus.TRANSFERRED
    assert saves(sandbox_state, connected) == 1 and len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_a_parked_transfer_is_stored_first_and_resumes_with_its_document(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, sent: SentMessages
) -> None:
    new_token = sandbox_state.rotate_token(connected.account_id)
    transfer_id = post(api, load_event("platform-invoice-upserted.json"))
    first = sent.document(transfer_id)
    drain(aws)
    assert status_of("inv-2026-020").status is TransferStatus.WAITING_FOR_CREDENTIALS
    (item,) = transfer_items()
    assert first is not None and item_document(item)["payload"] == first.payload

    stored = api.put("/v1/tenants/school-42/connection", json_body={"sevdesk_token": new_token})
    assert stored.status == 200 and stored.json["resumed_transfers"] == 1
    assert sent.document(transfer_id) == first
    drain(aws)
    assert status_of("inv-2026-020").status is TransferStatus.TRANSFERRED
    assert saves(sandbox_state, connected) == 1


def test_a_message_that_came_back_is_stored_so_the_tick_re_sends_it_after_the_dead_letter_queue(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, sent: SentMessages
) -> None:
    """Handed back (sevDesk's 429 pauses the tenant) over and over: its second receive stores the item
    (and holds it inside the open tail, its id being old by then). When the message then goes to the
    dead-letter queue, the stranded-work tick — which reads items — re-sends it."""
    sandbox_state.add_fault(
        Fault(kind="rate_limit", retry_after=1, method="POST", path_pattern=f"^{SAVE}$", times=None)
    )
    transfer_id = post(api, load_event("platform-invoice-upserted.json"))
    carried = sent.document(transfer_id)
    now = wiring.clock().now()

    with pytest.raises(RetryLater):
        runner().run(platform(), "school-42", transfer_id, delivery=Delivery("m-1", 1, sent_at=now), carried=carried)
    assert transfer_items() == []  # the first hand-back's pause is on the pointer only
    with pytest.raises(RetryLater):
        runner().run(platform(), "school-42", transfer_id, delivery=Delivery("m-1", 2), carried=carried)
    (item,) = transfer_items()
    assert carried is not None and item_document(item)["payload"] == carried.payload

    boto3.client("sqs").purge_queue(QueueUrl=source_for(aws, "TransferQueue").queue.url)  # to the DLQ
    sandbox_state.clear_faults()
    resent = wiring.transfer_ops().requeue_stranded(
        platform(), "school-42", queued_for=timedelta(0), sending_for=timedelta(0)
    )
    assert resent == 1
    for _ in range(40):  # the tenant's brake from the 429s may hold the message back for its second
        drain(aws)
        if status_of("inv-2026-020").status is TransferStatus.TRANSFERRED:
            break
        time.sleep(0.1)
    assert status_of("inv-2026-020").status is TransferStatus.TRANSFERRED
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_a_transfer_archived_without_its_document_reads_as_it_did_from_its_pointer(
    api: HandlerApiClient, connected: Any
) -> None:
    """The archive step's state-only item carries what the pointer said of the transfer (event id and
    type, source version, manual, creation time): once a newer transfer takes the pointer, GET of the older
    one shows the same transfer as while it was current — not an empty event and its creation time as its
    version."""
    manual = load_event("platform-invoice-upserted.json", id="evt-m1", occurred_at="2026-11-21T14:00:00+01:00")
    manual["type"] = "invoice.transfer_requested"
    older = post(api, manual)
    while_current = api.get(f"{TRANSFERS}/{older}").json
    assert (while_current["event_id"], while_current["manual"]) == ("evt-m1", True), while_current
    post(api, load_event("platform-invoice-upserted.json", id="evt-m2", occurred_at="2026-11-21T15:00:00+01:00"))
    (item,) = transfer_items()
    assert item["sk"]["S"] == f"TRANSFER#{older}" and "doc" not in item, item
    assert api.get(f"{TRANSFERS}/{older}").json == while_current


def test_a_superseded_queued_transfer_gets_a_state_only_item_and_its_late_message_calls_nothing(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, sent: SentMessages
) -> None:
    """A newer version takes the pointer while the older transfer is still queued: the older one's state
    moves onto an item of its own, created by that archive write (state only: never re-sent from it). The
    newer transfer runs; the older one's message, arriving late (a redelivery), runs on that state and the
    document its message carries, and finds nothing to do in sevDesk."""
    v1 = load_event("platform-invoice-upserted.json", id="evt-v1", occurred_at="2026-11-21T14:00:00+01:00")
    v2 = load_event("platform-invoice-upserted.json", id="evt-v2", occurred_at="2026-11-21T15:00:00+01:00")
    older, newer = post(api, v1), post(api, v2)
    (item,) = transfer_items()
    assert item["sk"]["S"] == f"TRANSFER#{older}" and "doc" not in item, item
    assert (item["kind"]["S"], item["source_id"]["S"], item_state(item)["s"]) == ("invoice", "inv-2026-020", "queued")
    assert item["created_at"]["S"] and status_of("inv-2026-020").transfer_id == newer
    now = wiring.clock().now()

    done = runner().run(
        platform(), "school-42", newer, delivery=Delivery("m-v2", 1, sent_at=now), carried=sent.document(newer)
    )
    assert done is not None and done.status is TransferStatus.TRANSFERRED
    requests = len(sandbox_state.requests(connected.account_id))

    late = runner().run(platform(), "school-42", older, delivery=Delivery("m-v1", 2), carried=sent.document(older))
    assert late is not None and late.status is TransferStatus.SKIPPED, late
    writes = [r for r in sandbox_state.requests(connected.account_id)[requests:] if r.method != "GET"]
    assert writes == []  # nothing written to sevDesk for the older version
    (item,) = transfer_items()  # its outcome went onto its own item; the pointer stays with the newer one
    assert "doc" not in item and item_state(item)["s"] == "skipped"
    assert status_of("inv-2026-020").transfer_id == newer
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1
