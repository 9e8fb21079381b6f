"""The push writes an invoice's mapping row once, after the fact (issue 10 §2): no "create in flight" row
before saveInvoice. The window in which a create may have landed unrecorded is covered by the ledger
instead: a transfer still `sending` reconciles (I8), and so does *any* transfer of the same document whose
last attempt is unsettled (it died holding the claim, or ended with an unknown outcome). The invoices here
have no number, so our marker is the only way to find them again: a duplicate would show."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
from sevbridge.config import get_settings
from sevbridge.domain.ledger import TransferStatus
from sevbridge.domain.push.ports import MappingRow
from sevbridge.workers.transfers import runner
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_seed import queued_invoice
from tests.support.worker import drain

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"


def unnumbered(event_id: str, occurred_at: str) -> dict[str, Any]:
    return load_event("platform-invoice-upserted.json", id=event_id, occurred_at=occurred_at, data__number=None)


def invoices(state: Any, account: Any) -> list[dict[str, Any]]:
    return [i for i in state.objects(account.account_id, "Invoice") if i.get("invoiceType", "RE") == "RE"]


def die_at_the_invoice_row(monkeypatch: pytest.MonkeyPatch) -> list[MappingRow]:
    """The worker dies right after saveInvoice/sendBy, before the invoice's one mapping-row write."""
    real_put = DynamoMappingStore.put
    died: list[MappingRow] = []

    def put_or_die(self: DynamoMappingStore, platform_id: str, tenant_id: str, row: MappingRow) -> None:
        if row.kind == "invoice" and not died:
            died.append(row)
            raise SystemExit("worker killed")  # not an Exception: nothing in our code handles it
        real_put(self, platform_id, tenant_id, row)

    monkeypatch.setattr(DynamoMappingStore, "put", put_or_die)
    return died


def invoice_row(platform_id: str) -> MappingRow | None:
    return DynamoMappingStore(get_settings().tenants_table).get(platform_id, "school-42", "invoice", "inv-2026-020")


def test_a_redelivered_transfer_that_died_after_save_adopts_the_invoice(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    died = die_at_the_invoice_row(monkeypatch)
    api.post(EVENTS, json_body=unnumbered("evt-1", "2026-11-21T14:00:00+01:00"))
    with pytest.raises(SystemExit):
        drain(aws)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    assert died and invoice_row(platform_id) is None  # nothing recorded before or after the create
    [created] = invoices(sandbox_state, connected)

    drain(aws)  # redelivery: still `sending` → uncertain → found by our marker, adopted

    [transfer] = api.get("/v1/tenants/school-42/transfers").json["items"]
    assert transfer["status"] == "transferred" and transfer["sevdesk_id"] == str(created["id"]), transfer
    assert len(invoices(sandbox_state, connected)) == 1
    row = invoice_row(platform_id)
    assert row is not None and row.sevdesk_id == str(created["id"])


def test_a_newer_transfer_of_a_document_whose_last_attempt_died_reconciles(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Transfer A dies after saveInvoice and never comes back; B (a newer version of the same invoice)
    claims the document once A's claim expired. B is not `sending` itself, yet it must reconcile."""
    die_at_the_invoice_row(monkeypatch)
    first = api.post(EVENTS, json_body=unnumbered("evt-1", "2026-11-21T14:00:00+01:00")).json
    a = first["results"][0]["transfers"][0]["transfer_id"]
    with pytest.raises(SystemExit):
        drain(aws)
    [created] = invoices(sandbox_state, connected)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    second = api.post(EVENTS, json_body=unnumbered("evt-2", "2026-11-21T15:00:00+01:00")).json
    b = second["results"][0]["transfers"][0]["transfer_id"]
    _expire_claim(platform_id)  # A's worker is gone for good

    done = runner().run(platform_id, "school-42", b)

    assert done is not None and done.status is TransferStatus.TRANSFERRED, done
    assert done.sevdesk_id == str(created["id"])
    assert len(invoices(sandbox_state, connected)) == 1  # adopted by marker, not created again
    assert done.transfer_id == b != a


def test_an_older_version_stands_back_for_a_newer_attempt_that_died_unrecorded(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newer version's transfer dies after saveInvoice (no row); an older transfer of the same invoice
    (one stored before, e.g. a failed one retried) claims after the claim ran out. It must not write its
    older content over what the newer attempt may have written: it is skipped as stale, and the newer
    transfer, redelivered, adopts the invoice and settles the document. (An older *event* arriving now
    gets no transfer at all: test_event_redelivery.py.)"""
    from datetime import datetime

    from sevbridge.domain.ledger import new_transfer_id

    die_at_the_invoice_row(monkeypatch)
    newer = api.post(EVENTS, json_body=unnumbered("evt-new", "2026-11-21T15:00:00+01:00")).json
    b = newer["results"][0]["transfers"][0]["transfer_id"]
    with pytest.raises(SystemExit):
        drain(aws)
    [created] = invoices(sandbox_state, connected)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    dead = wiring.ledger().get(platform_id, "school-42", b)
    assert dead is not None
    a = new_transfer_id()
    wiring.ledger().record_transfers(  # stored, not current: the pointer stays with the newer version
        [
            dead.model_copy(
                update={
                    "transfer_id": a,
                    "event_id": "evt-old",
                    "source_version": datetime.fromisoformat("2026-11-21T14:00:00+01:00"),
                    "status": TransferStatus.QUEUED,
                    "attempts": 0,
                    "uncertain": False,
                    "history": [],
                }
            )
        ]
    )
    _expire_claim(platform_id)
    saves = len([r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"])

    stood_back = runner().run(platform_id, "school-42", a)

    assert stood_back is not None and stood_back.status is TransferStatus.SKIPPED, stood_back
    assert stood_back.reason is not None and stood_back.reason.startswith("stale: a newer version")
    after = [r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"]
    assert len(after) == saves  # nothing written to sevDesk
    done = runner().run(platform_id, "school-42", b)  # B's message comes back: still `sending`
    assert done is not None and done.status is TransferStatus.TRANSFERRED and done.sevdesk_id == str(created["id"])
    assert len(invoices(sandbox_state, connected)) == 1
    pointer = _pointer(platform_id)
    assert "unsure" not in pointer and "claim" not in pointer, pointer  # settled by B


def _pointer(platform_id: str) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(
        TableName=get_settings().ledger_table,
        Key={"pk": {"S": tenant_pk(platform_id, "school-42")}, "sk": {"S": "DOC#invoice#inv-2026-020"}},
    )["Item"]


def _expire_claim(platform_id: str) -> None:
    """The dead worker's claim runs out: what 16 minutes would do."""
    boto3.client("dynamodb").update_item(
        TableName=get_settings().ledger_table,
        Key={"pk": {"S": tenant_pk(platform_id, "school-42")}, "sk": {"S": "DOC#invoice#inv-2026-020"}},
        UpdateExpression="SET claim_until = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )


def test_claiming_a_document_left_unsure_makes_the_transfer_uncertain(connected: Any, aws: Any) -> None:
    """A transfer that left `sending` with an unknown outcome marks its document unsure; the next transfer
    of that document to claim it is uncertain (reconciles) until one settles it."""
    ledger = wiring.ledger()
    a, b = _two_transfers_of_one_document(ledger)
    now = a.created_at
    a = ledger.save(a.moved_to(TransferStatus.SENDING, now, "attempt 1", attempts=1))
    assert not a.uncertain
    ledger.save(a.moved_to(TransferStatus.QUEUED, now, "retry", uncertain=True))  # outcome unknown

    claimed = ledger.save(b.moved_to(TransferStatus.SENDING, now, "attempt 1", attempts=1))
    assert claimed.uncertain  # A may have created the document: B reconciles
    assert claimed.unsettled_version == a.source_version  # an older one: B does not stand back

    settled = ledger.save(claimed.moved_to(TransferStatus.TRANSFERRED, now, "done", uncertain=False))
    assert not settled.uncertain
    again = ledger.get(b.platform_id, b.tenant_id, a.transfer_id)
    assert again is not None
    # B settled the document: a later claim (A's message coming back) starts certain unless A itself is.
    resumed = ledger.save(again.moved_to(TransferStatus.SENDING, now, "attempt 2", attempts=2, uncertain=False))
    assert not resumed.uncertain


def _two_transfers_of_one_document(ledger: Any) -> list[Any]:
    from datetime import UTC, datetime, timedelta

    platform_id = wiring.connection_store().list_connections()[0].platform_id
    start = datetime(2026, 11, 21, 13, tzinfo=UTC)
    transfers = [
        queued_invoice(platform_id, "inv-77", f"evt-{n}", version=start + timedelta(minutes=n), at=start)
        for n in (1, 2)
    ]
    ledger.record_transfers(transfers[:1])
    ledger.record_transfers(transfers[1:])
    return transfers
