"""Accepting platform events (design.md: accept fast, work durably).

Each event is validated, turned into one or more ledger transfers (P3 adds the contact's invoices),
recorded, and enqueued in the tenant's FIFO group. The same event id with the same body gets the same
answer; with a different body, a conflict. No receipt item remembers the event: the pointer of each
document it moved carries its id and body hash (docs/ledger.md), and its transfers' ids share one stem.
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
from sevbridge.domain.intake_models import DocumentKey, DocumentState, EventDraft, EventRecord
from sevbridge.domain.ledger import (
    HistoryEntry,
    Transfer,
    TransferKind,
    TransferStatus,
    event_transfer_id,
    new_transfer_id,
)
from sevbridge.domain.ports import Clock, LedgerStore, TransferQueue
from sevbridge.domain.push.projects import check_project
from sevbridge.domain.push.selection import select_invoices_for_contact
from sevbridge.domain.validation import problem_of

MAX_BATCH = 100
# A document in one of these states (with the event's version or newer) needs no new transfer (ensure).
HAVE_IT = frozenset({TransferStatus.TRANSFERRED, TransferStatus.QUEUED, TransferStatus.SENDING})
# DynamoDB limits: 400 KB per item (a transfer row holds its document); an event's transfers are kept
# below 3.5 MB in all (one request's worth), with room for the row's other attributes.
MAX_TRANSFER_BYTES = 300_000
MAX_EVENT_BYTES = 3_500_000


@dataclass(frozen=True)
class EventResult:
    index: int
    event_id: str | None
    status: Literal["accepted", "rejected", "conflict", "unchanged"]
    answer: dict[str, Any]


def body_hash(raw: Any) -> str:
    """128 bits of SHA-256 of the canonical body: enough to tell two bodies apart, small on the pointer."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


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
        """Accepts a request's events: each is validated, then all are recorded together (the ledger
        answers a redelivery from the documents' pointers), then all transfers to send are enqueued
        together, in event order.

        `only_missing` ("transfer what is not transferred yet"): a document whose latest transfer is
        already `transferred`, `queued` or `sending` with this event's version or a newer one gets no
        new transfer; an event left with none is answered `unchanged` and not recorded."""
        results: dict[int, EventResult] = {}
        candidates: list[tuple[int, EventDraft]] = []
        for index, raw in enumerate(raws):
            parsed = self._prepare(connection, raw, index)
            if isinstance(parsed, EventResult):
                results[index] = parsed
            else:
                candidates.append((index, parsed))
        documents: dict[int, list[dict[str, Any]]] = {}
        if only_missing:
            candidates = self._only_missing(connection, candidates, results, documents)

        records = self.ledger.record_events([draft for _, draft in candidates])
        to_send: dict[str, Transfer] = {}
        for (index, draft), record in zip(candidates, records, strict=True):
            results[index] = self._result(index, draft, record, documents.get(index))
            # Still `queued` as stored is (re-)sent: on a redelivery this finishes an enqueue that failed
            # the first time; where it had worked, the queue's deduplication (same transfer, same requeue
            # count) or the worker (it acknowledges what is no longer queued) drops the copy.
            to_send |= {t.transfer_id: t for t in record.to_send if t.transfer_id not in to_send}
        if to_send:
            self.queue.enqueue(list(to_send.values()))
        return [results[i] for i in range(len(raws))]

    def _result(
        self, index: int, draft: EventDraft, record: EventRecord, documents: list[dict[str, Any]] | None
    ) -> EventResult:
        if record.outcome == "conflict":
            conflict = Conflict(
                "this event id was already used for a different event body; use a new id for a new event",
                details=[{"field": "id", "problem": "already used with a different body"}],
            )
            error = {"code": conflict.code, "message": conflict.message, "details": conflict.details}
            refused = {"event_id": draft.event_id, "status": "conflict", "error": error}
            return EventResult(index, draft.event_id, "conflict", refused)
        # Each document with the transfer that covers it: this event's (as accepted: a redelivery gets the
        # first delivery's ids), or — where a newer version of the document was there — that one's.
        summaries = [_summary(t if s is None else s) for t, s in zip(record.transfers, record.superseded, strict=True)]
        answer: dict[str, Any] = {"event_id": draft.event_id, "status": "accepted", "transfers": summaries}
        if documents is not None:
            covered = iter(summaries)
            answer["documents"] = [
                d if d["outcome"] != "new_transfer" else d | _document_of(next(covered)) for d in documents
            ]
        return EventResult(index, draft.event_id, "accepted", answer)

    def _only_missing(
        self,
        connection: Connection,
        candidates: list[tuple[int, EventDraft]],
        results: dict[int, EventResult],
        documents: dict[int, list[dict[str, Any]]],
    ) -> list[tuple[int, EventDraft]]:
        keys = list(dict.fromkeys((tr.kind, tr.source_id) for _, draft in candidates for tr in draft.transfers))
        states = self.ledger.lookup(
            connection.platform_id,
            connection.tenant_id,
            [DocumentKey(kind=kind, source_id=source_id) for kind, source_id in keys],
        )
        latest = dict(zip(keys, states, strict=True))
        kept: list[tuple[int, EventDraft]] = []
        for index, draft in candidates:
            listed: list[dict[str, Any]] = []
            remaining: list[Transfer] = []
            for tr in draft.transfers:
                state = latest[(tr.kind, tr.source_id)]
                outcome = _have_it(state, tr)
                if state is not None and outcome is not None:
                    listed.append(
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
                    listed.append({"kind": tr.kind.value, "source_id": tr.source_id, "outcome": "new_transfer"})
            if not remaining:
                # A redelivery of an ensure request that was recorded lands here too: its documents are
                # `queued` (or further) with its version now.
                answer = {"event_id": draft.event_id, "status": "unchanged", "transfers": [], "documents": listed}
                results[index] = EventResult(index, draft.event_id, "unchanged", answer)
                continue
            documents[index] = listed
            kept.append((index, draft.model_copy(update={"transfers": remaining})))
        return kept

    def _prepare(self, connection: Connection, raw: Any, index: int) -> EventResult | EventDraft:
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
        return EventDraft(event_id=envelope.id, body_hash=body_hash(raw), transfers=transfers)

    def _transfers_for(
        self, envelope: EventEnvelope, data: BaseModel, connection: Connection, now: datetime
    ) -> list[Transfer]:
        """The event's transfers. Their ids share one stem, then the document's position in the event
        (contact 0, its invoices 1…), not in the list's order: which invoices P3 selects depends on the
        day, and a redelivery must give each document the same id; then the document itself, so the id
        leads to its pointer (ledger.event_transfer_id)."""
        stem = new_transfer_id()

        def make(
            kind: TransferKind,
            source_id: str,
            payload: BaseModel,
            *,
            manual: bool,
            skipped: str | None = None,
            position: int = 0,
        ) -> Transfer:
            status = TransferStatus.SKIPPED if skipped else TransferStatus.QUEUED
            transfer = Transfer(
                transfer_id=event_transfer_id(stem, position, kind, source_id),
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
            invoices = data.full_invoices()
            position = {id(inv): n for n, inv in enumerate(invoices, start=1)}
            selected, rejected = select_invoices_for_contact(invoices, business_day(now))
            # P3: the selected invoices follow the contact, in the same FIFO group, so they go after it.
            transfers += [
                make(TransferKind.INVOICE, inv.source_id, inv, manual=manual, position=position[id(inv)])
                for inv in selected
            ]
            transfers += [
                make(TransferKind.INVOICE, inv.source_id, inv, manual=manual, skipped=why, position=position[id(inv)])
                for inv, why in rejected
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


def _have_it(state: DocumentState | None, transfer: Transfer) -> str | None:
    """Why a document needs no new transfer (ensure), or None. A newer version there, whatever its
    state, is never replaced by an older one (the ledger would not move the pointer back either)."""
    if state is None or state.version < transfer.source_version:
        return None
    if state.status is TransferStatus.TRANSFERRED:
        return "already_transferred"
    if state.status in HAVE_IT:
        return "in_progress"
    return "newer_version" if state.version > transfer.source_version else None


def _summary(covering: Transfer | DocumentState) -> dict[str, Any]:
    """The transfer that covers a document: this event's, or the newer one already there."""
    return {
        "transfer_id": covering.transfer_id,
        "kind": covering.kind.value,
        "source_id": covering.source_id,
        "status": covering.status.value,
        "reason": covering.reason,
    }


def _document_of(summary: dict[str, Any]) -> dict[str, Any]:
    return {"transfer_id": summary["transfer_id"], "status": summary["status"]}
