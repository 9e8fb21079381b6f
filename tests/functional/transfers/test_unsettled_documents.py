"""The push writes an invoice's mapping row once, after the fact (issue 10 §2): no "create in flight" row
before saveInvoice, and a live transfer writes no `sending` claim either. The window in which a create
may have landed unrecorded is covered by what the worker knows without a write: a redelivered message
(receive count > 1) whose previous receive recorded no outcome, a re-sent or redriven message (sent well
after the state it runs on), a transfer the schedule tick re-sent — each reconciles (I8); and so does
*any* transfer of the same document whose last attempt is unsettled (`unsure`, or a claim left by a
transfer that may have died mid-attempt). The invoices here have no number, so our marker is the only
way to find them again: a duplicate would show, and a marker search is a reconcile look-up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sevbridge import wiring
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.adapters.dynamo_ledger import DynamoLedgerStore
from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
from sevbridge.config import get_settings
from sevbridge.domain.ledger import Transfer, TransferStatus
from sevbridge.domain.push.ports import MappingRow
from sevbridge.domain.transfer_runner import Delivery
from sevbridge.workers.transfers import runner
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_items import transfer_items
from tests.support.ledger_seed import queued_invoice
from tests.support.sent_messages import SentMessages
from tests.support.worker import drain, source_for

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"


def unnumbered(event_id: str, occurred_at: str) -> dict[str, Any]:
    return load_event("platform-invoice-upserted.json", id=event_id, occurred_at=occurred_at, data__number=None)


def invoices(state: Any, account: Any) -> list[dict[str, Any]]:
    return [i for i in state.objects(account.account_id, "Invoice") if i.get("invoiceType", "RE") == "RE"]


def die_at_the_invoice_row(monkeypatch: pytest.MonkeyPatch) -> list[MappingRow]:
    """The worker dies right after sevDesk answered saveInvoice/sendBy, before the outcome write that
    carries the invoice's mapping row (the push holds it back for that write: domain/push/rows.py)."""
    real_save = DynamoLedgerStore.save
    died: list[MappingRow] = []

    def save_or_die(
        self: DynamoLedgerStore, transfer: Transfer, notices: Any = None, *, mapping: MappingRow | None = None
    ) -> Transfer:
        if mapping is not None and mapping.kind == "invoice" and not died:
            died.append(mapping)
            raise SystemExit("worker killed")  # not an Exception: nothing in our code handles it
        return real_save(self, transfer, notices, mapping=mapping)

    monkeypatch.setattr(DynamoLedgerStore, "save", save_or_die)
    return died


def post_and_die(
    api: HandlerApiClient, aws: Any, monkeypatch: pytest.MonkeyPatch, event_id: str, occurred_at: str
) -> str:
    """Posts one unnumbered invoice event whose worker dies after sevDesk saved it; its transfer id."""
    die_at_the_invoice_row(monkeypatch)
    answer = api.post(EVENTS, json_body=unnumbered(event_id, occurred_at)).json
    with pytest.raises(SystemExit):
        drain(aws)
    return str(answer["results"][0]["transfers"][0]["transfer_id"])


def marker_searches(state: Any, account: Any) -> int:
    return len(
        [r for r in state.requests(account.account_id) if r.path == "/Invoice" and "customerInternalNote" in r.query]
    )


def invoice_row(platform_id: str) -> MappingRow | None:
    settings = get_settings()
    store = DynamoMappingStore(settings.ledger_table, settings.tenants_table)
    return store.get(platform_id, "school-42", "invoice", "inv-2026-020")


def test_a_redelivered_transfer_that_died_after_save_adopts_the_invoice(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    died = die_at_the_invoice_row(monkeypatch)
    api.post(EVENTS, json_body=unnumbered("evt-1", "2026-11-21T14:00:00+01:00"))
    with pytest.raises(SystemExit):
        drain(aws)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    # Nothing recorded before or after the create: no mapping, and no outcome.
    assert died and died[0].sevdesk_id is not None and invoice_row(platform_id) is None
    [created] = invoices(sandbox_state, connected)
    assert marker_searches(sandbox_state, connected) == 0  # the first receive was certain
    # A live attempt writes nothing before sevDesk: the transfer is still `queued`, nothing says it ran.
    [stuck] = api.get("/v1/tenants/school-42/transfers").json["items"]
    assert stuck["status"] == "queued", stuck
    assert transfer_items() == []  # its message carries the document: no transfer item yet

    drain(aws)  # redelivery: receive count 2, receive 1 recorded nothing → uncertain → found by our marker

    # Receive 2 stored the transfer's item (document and state) before its attempt: a message that comes
    # back may end in the dead-letter queue, and the stranded-work tick re-sends from items.
    [item] = transfer_items()
    assert item["sk"]["S"] == f"TRANSFER#{stuck['transfer_id']}" and "doc" in item, item

    [transfer] = api.get("/v1/tenants/school-42/transfers").json["items"]
    assert transfer["status"] == "transferred" and transfer["sevdesk_id"] == str(created["id"]), transfer
    assert len(invoices(sandbox_state, connected)) == 1
    assert marker_searches(sandbox_state, connected) == 1
    row = invoice_row(platform_id)
    assert row is not None and row.sevdesk_id == str(created["id"])


def test_a_receive_right_after_a_recorded_outcome_is_certain(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """The common redelivery — the previous receive of the same message failed with a known outcome and
    recorded it — costs no reconcile look-up: the outcome write records `<message id>:<receive count>`."""
    from sevbridge.adapters import aws_clients

    throttles = {"left": 1}

    def throttle_once(**_: Any) -> None:
        if throttles["left"]:
            throttles["left"] -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Decrypt")

    wiring.token_vault().forget()
    aws_clients.kms().meta.events.register("before-call.kms.Decrypt", throttle_once)
    api.post(EVENTS, json_body=unnumbered("evt-1", "2026-11-21T14:00:00+01:00"))
    assert drain(aws) == 2  # receive 1: KMS throttled, retry recorded; receive 2: transferred

    [transfer] = api.get("/v1/tenants/school-42/transfers").json["items"]
    assert (transfer["status"], transfer["attempts"]) == ("transferred", 2), transfer
    assert len(invoices(sandbox_state, connected)) == 1
    assert marker_searches(sandbox_state, connected) == 0


def test_a_redriven_message_of_a_transfer_that_died_mid_attempt_reconciles(
    api: HandlerApiClient,
    connected: Any,
    sandbox_state: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    sent: SentMessages,
) -> None:
    """A DLQ redrive (or intake re-sending a still-queued transfer) is a new message: receive count 1.
    Sent long after the transfer's last recorded state, it may follow an attempt that died: uncertain."""
    a = post_and_die(api, aws, monkeypatch, "evt-1", "2026-11-21T14:00:00+01:00")
    [created] = invoices(sandbox_state, connected)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    redriven = Delivery(message_id="redriven", receives=1, sent_at=wiring.clock().now() + timedelta(minutes=20))

    done = runner().run(platform_id, "school-42", a, delivery=redriven, carried=sent.document(a))

    assert done is not None and done.status is TransferStatus.TRANSFERRED and done.sevdesk_id == str(created["id"])
    assert len(invoices(sandbox_state, connected)) == 1


def test_a_transfer_the_schedule_tick_re_sends_reconciles(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker died mid-attempt and its message is gone (dead-letter queue); the tick re-sends the
    stranded `queued` transfer. The new message is sent right after the tick's write (receive count 1):
    the tick's write itself marks the transfer uncertain. A message reaches the dead-letter queue only
    after coming back: its second receive stored the transfer's item, which the tick reads (here the
    worker dies again on that receive, after reconciling)."""
    post_and_die(api, aws, monkeypatch, "evt-1", "2026-11-21T14:00:00+01:00")
    die_at_the_invoice_row(monkeypatch)
    with pytest.raises(SystemExit):
        drain(aws)  # receive 2: the item is stored before the attempt
    assert len(transfer_items()) == 1
    boto3.client("sqs").purge_queue(QueueUrl=source_for(aws, "TransferQueue").queue.url)
    platform_id = wiring.connection_store().list_connections()[0].platform_id

    resent = wiring.transfer_ops().requeue_stranded(
        platform_id, "school-42", queued_for=timedelta(0), sending_for=timedelta(0)
    )
    assert resent == 1
    assert drain(aws) == 1

    [transfer] = api.get("/v1/tenants/school-42/transfers").json["items"]
    assert transfer["status"] == "transferred", transfer
    assert len(invoices(sandbox_state, connected)) == 1


def test_a_newer_transfer_of_a_document_whose_last_attempt_died_reconciles(
    api: HandlerApiClient,
    connected: Any,
    sandbox_state: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    sent: SentMessages,
) -> None:
    """Transfer A dies mid-attempt after saveInvoice (a live attempt: nothing written) and never comes
    back; B, a newer version of the same invoice, takes the pointer over while A is still pending: the
    pointer keeps A as an expired claim, so B reconciles although nothing of A's attempt was recorded."""
    a = post_and_die(api, aws, monkeypatch, "evt-1", "2026-11-21T14:00:00+01:00")
    [created] = invoices(sandbox_state, connected)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    second = api.post(EVENTS, json_body=unnumbered("evt-2", "2026-11-21T15:00:00+01:00")).json
    b = second["results"][0]["transfers"][0]["transfer_id"]
    pointer = _pointer(platform_id)
    assert (pointer["claim"]["S"], pointer["claim_until"]["N"]) == (a, "0")  # left by intake for A
    boto3.client("sqs").purge_queue(QueueUrl=source_for(aws, "TransferQueue").queue.url)  # A's message is gone

    fresh = Delivery(message_id="m-b", receives=1, sent_at=wiring.clock().now())  # B's first message, just sent
    done = runner().run(platform_id, "school-42", b, delivery=fresh, carried=sent.document(b))

    assert done is not None and done.status is TransferStatus.TRANSFERRED, done
    assert done.sevdesk_id == str(created["id"])
    assert len(invoices(sandbox_state, connected)) == 1  # adopted by marker, not created again
    assert done.transfer_id == b != a


def test_an_older_version_stands_back_for_a_newer_attempt_that_died_unrecorded(
    api: HandlerApiClient,
    connected: Any,
    sandbox_state: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    sent: SentMessages,
) -> None:
    """The newer version's live transfer dies after saveInvoice (nothing recorded: a live attempt writes
    no claim); an older transfer of the same invoice (one stored before, not current) runs next. It must not
    write its older content over what the newer attempt may have written: the newer one is still pending
    live on the pointer, so the older one is skipped as stale, and the newer transfer, redelivered, adopts
    the invoice and settles the document. (An older *event* arriving now gets no transfer at all:
    test_event_redelivery.py.)"""
    from datetime import datetime

    from sevbridge.domain.ledger import new_transfer_id

    b = post_and_die(api, aws, monkeypatch, "evt-new", "2026-11-21T15:00:00+01:00")
    [created] = invoices(sandbox_state, connected)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    dead = wiring.ledger().get(platform_id, "school-42", b, carried=sent.document(b))
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
    saves = len([r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"])

    fresh = Delivery(message_id="m-a", receives=1, sent_at=wiring.clock().now())
    stood_back = runner().run(platform_id, "school-42", a, delivery=fresh)

    assert stood_back is not None and stood_back.status is TransferStatus.SKIPPED, stood_back
    assert stood_back.reason is not None and stood_back.reason.startswith("stale: a newer version")
    after = [r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"]
    assert len(after) == saves  # nothing written to sevDesk
    done = runner().run(
        platform_id, "school-42", b, delivery=Delivery(message_id="m-b", receives=2), carried=sent.document(b)
    )
    assert done is not None and done.status is TransferStatus.TRANSFERRED and done.sevdesk_id == str(created["id"])
    assert len(invoices(sandbox_state, connected)) == 1
    pointer = _pointer(platform_id)
    assert "unsure" not in pointer and "claim" not in pointer and "live" not in pointer, pointer  # settled by B


def _pointer(platform_id: str) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(
        TableName=get_settings().ledger_table,
        Key={"pk": {"S": tenant_pk(platform_id, "school-42")}, "sk": {"S": "DOC#invoice#inv-2026-020"}},
    )["Item"]


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
