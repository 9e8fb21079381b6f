"""Accepting platform events (design.md: accept fast, work durably).

Each event is validated, turned into one or more ledger transfers (P3 adds the contact's invoices),
recorded together with an idempotency receipt, and enqueued in the tenant's FIFO group. The same event
id with the same body gets the same answer; with a different body, a conflict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from sevbridge.domain.connection import Connection
from sevbridge.domain.errors import Conflict, InvalidInput
from sevbridge.domain.events import (
    DATA_MODEL_BY_TYPE,
    ContactWithInvoices,
    EventEnvelope,
    EventType,
    Invoice,
    Project,
)
from sevbridge.domain.intake_models import DocumentKey, EventReceipt
from sevbridge.domain.ledger import HistoryEntry, Transfer, TransferKind, TransferStatus, new_transfer_id
from sevbridge.domain.ports import Clock, LedgerStore, TransferQueue
from sevbridge.domain.push.projects import check_project
from sevbridge.domain.push.selection import select_invoices_for_contact
from sevbridge.domain.validation import problem_of

MAX_BATCH = 100
# A document in one of these states (with the event's version or newer) needs no new transfer (ensure).
HAVE_IT = frozenset({TransferStatus.TRANSFERRED, TransferStatus.QUEUED, TransferStatus.SENDING})
# DynamoDB limits: 400 KB per item (a transfer row holds its document), 4 MB per transaction (an event's
# receipt and transfers are written together). Kept below both, with room for the row's other attributes.
MAX_TRANSFER_BYTES = 300_000
MAX_EVENT_BYTES = 3_500_000


@dataclass(frozen=True)
class EventResult:
    index: int
    event_id: str | None
    status: Literal["accepted", "rejected", "conflict", "unchanged"]
    answer: dict[str, Any]


def body_hash(raw: Any) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_event(raw: Any) -> tuple[EventEnvelope, BaseModel]:
    """Validates the envelope, then the data against its type's model; raises InvalidInput naming
    every bad field (paths like `data.customer.emails.0`)."""
    if not isinstance(raw, dict):
        raise InvalidInput("an event must be a JSON object", details=[{"field": "", "problem": "not an object"}])
    try:
        envelope = EventEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("invalid event", details=_details(exc)) from None
    try:
        data = DATA_MODEL_BY_TYPE[envelope.type].model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidInput("invalid event data", details=_details(exc, prefix="data")) from None
    if isinstance(data, Project):
        check_project(data)
    return envelope, data


def _details(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        out.append({"field": path, "problem": problem_of(err), "type": err["type"]})
    return out


@dataclass
class Intake:
    ledger: LedgerStore
    queue: TransferQueue
    clock: Clock
    # Its transfers go to the transfer queue (live): their documents' pointers name them as pending, so a
    # backfill's claim waits for them. False for the backfill's intake (its chunks run their transfers).
    live: bool = True

    def accept(self, connection: Connection, raws: list[Any], *, only_missing: bool = False) -> list[EventResult]:
        """Accepts a request's events: each is validated and recorded on its own (receipt, then its
        transfers), then all new transfers are enqueued together, in event order.

        `only_missing` ("transfer what is not transferred yet"): a document whose latest transfer is
        already `transferred`, `queued` or `sending` with this event's version or a newer one gets no
        new transfer; an event left with none is answered `unchanged` and not recorded."""
        results: dict[int, EventResult] = {}
        candidates: list[tuple[int, EventReceipt, list[Transfer]]] = []
        for index, raw in enumerate(raws):
            parsed = self._prepare(connection, raw, index)
            if isinstance(parsed, EventResult):
                results[index] = parsed
            else:
                candidates.append((index, *parsed))
        if only_missing:
            candidates = self._only_missing(connection, candidates, results)

        # Write first, read only on a clash: redeliveries are rare, so the common case is one call.
        recorded = self.ledger.record_events([(receipt, transfers) for _, receipt, transfers in candidates])
        to_enqueue: list[tuple[EventReceipt, list[Transfer]]] = []
        for (index, receipt, transfers), was_new in zip(candidates, recorded, strict=True):
            pending: tuple[EventReceipt, list[Transfer]] | None
            if was_new:
                results[index], pending = (
                    EventResult(index, receipt.event_id, "accepted", receipt.answer),
                    (receipt, transfers),
                )
            else:
                stored = self.ledger.get_receipt(connection.platform_id, connection.tenant_id, receipt.event_id)
                assert stored is not None
                results[index], pending = self._replay(stored, receipt.body_hash, index, transfers)
            if pending and all(r.event_id != pending[0].event_id for r, _ in to_enqueue):
                to_enqueue.append(pending)
        # Transfers still `queued` are (re-)sent: on a redelivery this finishes an enqueue that failed
        # the first time; where it had worked, the queue's deduplication (same transfer, same requeue
        # count) or the worker (it acknowledges what is no longer queued) drops the copy.
        queued = [tr for _, trs in to_enqueue for tr in trs if tr.status is TransferStatus.QUEUED]
        if queued:
            self.queue.enqueue(queued)
        return [results[i] for i in range(len(raws))]

    def _only_missing(
        self,
        connection: Connection,
        candidates: list[tuple[int, EventReceipt, list[Transfer]]],
        results: dict[int, EventResult],
    ) -> list[tuple[int, EventReceipt, list[Transfer]]]:
        keys = list(dict.fromkeys((tr.kind, tr.source_id) for _, _, transfers in candidates for tr in transfers))
        states = self.ledger.lookup(
            connection.platform_id,
            connection.tenant_id,
            [DocumentKey(kind=kind, source_id=source_id) for kind, source_id in keys],
        )
        latest = dict(zip(keys, states, strict=True))
        kept: list[tuple[int, EventReceipt, list[Transfer]]] = []
        for index, receipt, transfers in candidates:
            documents: list[dict[str, Any]] = []
            remaining: list[Transfer] = []
            for tr in transfers:
                state = latest[(tr.kind, tr.source_id)]
                if state is not None and state.status in HAVE_IT and state.version >= tr.source_version:
                    outcome = "already_transferred" if state.status is TransferStatus.TRANSFERRED else "in_progress"
                    documents.append(
                        {
                            "kind": tr.kind.value,
                            "source_id": tr.source_id,
                            "outcome": outcome,
                            "transfer_id": state.transfer_id,
                            "status": state.status.value,
                        }
                    )
                else:
                    remaining.append(tr)
                    documents.append(
                        {
                            "kind": tr.kind.value,
                            "source_id": tr.source_id,
                            "outcome": "new_transfer",
                            "transfer_id": tr.transfer_id,
                            "status": tr.status.value,
                        }
                    )
            if not remaining:
                answer = {"event_id": receipt.event_id, "status": "unchanged", "transfers": [], "documents": documents}
                results[index] = EventResult(index, receipt.event_id, "unchanged", answer)
                continue
            answer = receipt.answer | {
                "transfers": [_transfer_summary(tr) for tr in remaining],
                "documents": documents,
            }
            update = {"answer": answer, "transfer_ids": [tr.transfer_id for tr in remaining]}
            kept.append((index, receipt.model_copy(update=update), remaining))
        return kept

    def _prepare(
        self, connection: Connection, raw: Any, index: int
    ) -> EventResult | tuple[EventReceipt, list[Transfer]]:
        event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        try:
            envelope, data = parse_event(raw)
        except InvalidInput as exc:
            error = {"code": exc.code, "message": exc.message, "details": exc.details}
            return EventResult(
                index, event_id, "rejected", {"event_id": event_id, "status": "rejected", "error": error}
            )
        now = self.clock.now()
        transfers = self._transfers_for(envelope, data, connection, now)
        sizes = [len(t.model_dump_json()) for t in transfers]
        if max(sizes) > MAX_TRANSFER_BYTES or sum(sizes) > MAX_EVENT_BYTES:
            problem = (
                f"too large to store: {max(sizes) // 1024} KB for one document "
                f"(limit {MAX_TRANSFER_BYTES // 1024} KB), "
                f"{sum(sizes) // 1024} KB in all (limit {MAX_EVENT_BYTES // 1024} KB); shorten descriptions or "
                "send the invoices in their own events"
            )
            error = {
                "code": "event_too_large",
                "message": f"the event is {problem}",
                "details": [{"field": "data", "problem": problem}],
            }
            return EventResult(
                index, envelope.id, "rejected", {"event_id": envelope.id, "status": "rejected", "error": error}
            )
        answer = {
            "event_id": envelope.id,
            "status": "accepted",
            "transfers": [_transfer_summary(tr) for tr in transfers],
        }
        receipt = EventReceipt(
            platform_id=connection.platform_id,
            tenant_id=connection.tenant_id,
            event_id=envelope.id,
            body_hash=body_hash(raw),
            transfer_ids=[tr.transfer_id for tr in transfers],
            answer=answer,
            created_at=now,
        )
        return receipt, transfers

    def _replay(
        self, receipt: EventReceipt, digest: str, index: int, rebuilt: list[Transfer]
    ) -> tuple[EventResult, tuple[EventReceipt, list[Transfer]] | None]:
        if receipt.body_hash != digest:
            conflict = Conflict(
                "this event id was already used for a different event body; use a new id for a new event",
                details=[{"field": "id", "problem": "already used with a different body"}],
            )
            error = {"code": conflict.code, "message": conflict.message, "details": conflict.details}
            result = EventResult(
                index,
                receipt.event_id,
                "conflict",
                {"event_id": receipt.event_id, "status": "conflict", "error": error},
            )
            return result, None
        return EventResult(index, receipt.event_id, "accepted", receipt.answer), (
            receipt,
            self._complete(receipt, rebuilt),
        )

    def _complete(self, receipt: EventReceipt, rebuilt: list[Transfer]) -> list[Transfer]:
        """The receipt's transfers as stored. If the first delivery stopped after writing the receipt,
        the missing ones are stored now, rebuilt from this (identical) body under the receipt's ids,
        and documents whose pointer was not written yet are pointed at their transfer."""
        # The identical body names each transfer's document: its pointer is read with it (one call each).
        hints: dict[str, DocumentKey] = {}
        if len(rebuilt) == len(receipt.transfer_ids):
            hints = {
                tid: DocumentKey(kind=tr.kind, source_id=tr.source_id)
                for tid, tr in zip(receipt.transfer_ids, rebuilt, strict=True)
            }
        stored = {
            tid: self.ledger.get(receipt.platform_id, receipt.tenant_id, tid, document=hints.get(tid))
            for tid in receipt.transfer_ids
        }
        missing = [tid for tid, tr in stored.items() if tr is None]
        redo: dict[str, Transfer] = {}
        if missing and len(rebuilt) == len(receipt.transfer_ids):
            redo = {
                tid: tr.model_copy(update={"transfer_id": tid, "created_at": receipt.created_at})
                for tid, tr in zip(receipt.transfer_ids, rebuilt, strict=True)
                if tid in missing
            }
            # Their ids are as old as the receipt: keep them where the stranded-work tick looks first.
            reopened = [tid for tid, tr in redo.items() if tr.status is TransferStatus.QUEUED]
            if reopened:
                self.ledger.hold_open(receipt.platform_id, receipt.tenant_id, reopened)
            self.ledger.record_transfers(list(redo.values()))
        # If it stopped after the transfers but before their documents' pointers, the status column
        # would not see them: point them now (a no-op where it or a newer transfer is current).
        present = [
            tr.model_copy(update={"live": self.live})
            for tid, tr in stored.items()
            if tr is not None and tid not in redo
        ]
        if present:
            self.ledger.point_documents(present)
        stored |= redo
        return [tr for tr in stored.values() if tr is not None]

    def _transfers_for(
        self, envelope: EventEnvelope, data: BaseModel, connection: Connection, now: datetime
    ) -> list[Transfer]:
        def make(
            kind: TransferKind,
            source_id: str,
            payload: BaseModel,
            *,
            manual: bool,
            skipped: str | None = None,
        ) -> Transfer:
            status = TransferStatus.SKIPPED if skipped else TransferStatus.QUEUED
            transfer = Transfer(
                transfer_id=new_transfer_id(),
                platform_id=connection.platform_id,
                tenant_id=connection.tenant_id,
                kind=kind,
                source_id=source_id,
                event_id=envelope.id,
                event_type=envelope.type.value,
                status=TransferStatus.QUEUED,
                manual=manual,
                source_version=envelope.occurred_at,
                payload=payload.model_dump(mode="json"),
                created_at=now,
                updated_at=now,
                live=self.live,
            )
            if skipped:
                return transfer.moved_to(status, now, skipped, reason=skipped)
            return transfer.model_copy(update={"history": [HistoryEntry(at=now, status=status, note="accepted")]})

        if isinstance(data, ContactWithInvoices):
            # A user's explicit "transfer this contact" (contact.transfer_requested) is manual, and so are
            # the invoices it takes along: they go whatever auto_transfer says. With contact.upserted they
            # are automatic transfers (auto_transfer and stale versions apply).
            manual = envelope.type is EventType.CONTACT_TRANSFER_REQUESTED
            contact = data.contact()
            transfers = [make(TransferKind.CONTACT, data.source_id, contact, manual=manual)]
            selected, rejected = select_invoices_for_contact(data.full_invoices(), business_day(now))
            # P3: the selected invoices follow the contact, in the same FIFO group, so they go after it.
            transfers += [make(TransferKind.INVOICE, inv.source_id, inv, manual=manual) for inv in selected]
            transfers += [
                make(TransferKind.INVOICE, inv.source_id, inv, manual=manual, skipped=why) for inv, why in rejected
            ]
            return transfers
        if isinstance(data, Invoice):
            manual = envelope.type is EventType.INVOICE_TRANSFER_REQUESTED
            return [make(TransferKind.INVOICE, data.source_id, data, manual=manual)]
        if isinstance(data, Project):
            return [make(TransferKind.INVOICE_DRAFT, data.source_id, data, manual=True)]
        raise InvalidInput(f"unsupported event type {envelope.type}")


BUSINESS_TZ = ZoneInfo("Europe/Berlin")


def business_day(now: datetime) -> date:
    # "Current year" (P3) is the German business year: 31 Dec 23:30 UTC is already January in Berlin.
    return now.astimezone(BUSINESS_TZ).date()


def _transfer_summary(transfer: Transfer) -> dict[str, Any]:
    return {
        "transfer_id": transfer.transfer_id,
        "kind": transfer.kind.value,
        "source_id": transfer.source_id,
        "status": transfer.status.value,
        "reason": transfer.reason,
    }
