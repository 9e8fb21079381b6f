"""Bodies of the events and transfers routes (I6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field

from sevbridge.api.schemas_errors import ErrorBody
from sevbridge.common.model import Model
from sevbridge.domain.events import (
    ContactWithInvoices,
    EventType,
    Invoice,
    Project,
)
from sevbridge.domain.ledger import HistoryEntry, Transfer, TransferKind, TransferStatus


class TransferSummary(Model):
    transfer_id: str
    kind: TransferKind
    source_id: str
    status: TransferStatus
    reason: str | None = None


class EventResultBody(Model):
    index: int
    event_id: str | None
    status: Literal["accepted", "rejected", "conflict"]
    transfers: list[TransferSummary] = Field(default_factory=list)
    error: ErrorBody | None = Field(default=None, description="Why the event was rejected; null when accepted")


class EventsAccepted(Model):
    accepted: int
    rejected: int
    results: list[EventResultBody]


class TransferView(Model):
    transfer_id: str
    kind: TransferKind
    source_id: str
    event_id: str
    event_type: str
    status: TransferStatus = Field(
        description="queued · sending · transferred · failed · skipped · waiting_for_credentials. A transfer of "
        "an event goes from queued straight to its outcome; sending is shown only while a backfill sends its copy"
    )
    reason: str | None = Field(default=None, description="Human-readable outcome, or why it failed/was skipped")
    last_error: str | None = Field(default=None, description="sevDesk's message or ours; never a secret")
    sevdesk_id: str | None = None
    sevdesk_number: str | None = None
    attempts: int
    manual: bool
    source_version: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, t: Transfer) -> Self:
        return cls(**t.model_dump(include=set(cls.model_fields)))


class TransferDetail(TransferView):
    history: list[HistoryEntry]


class TransferList(Model):
    items: list[TransferView]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page")


class RetryResult(Model):
    retried: int
    transfers: list[TransferView]


# --- documentation-only models for the events request body (validated per event in code) --------
class _Event(Model):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, description="Event id; makes delivery idempotent")
    occurred_at: AwareDatetime


class ContactUpsertedEvent(_Event):
    type: Literal[EventType.CONTACT_UPSERTED]
    data: ContactWithInvoices


class ContactTransferRequestedEvent(_Event):
    """The platform user transferred the contact on purpose: its current-year sent/paid invoices go
    along whether or not automatic transfer is on (P3)."""

    type: Literal[EventType.CONTACT_TRANSFER_REQUESTED]
    data: ContactWithInvoices


class InvoiceUpsertedEvent(_Event):
    type: Literal[EventType.INVOICE_UPSERTED]
    data: Invoice


class InvoiceTransferRequestedEvent(_Event):
    type: Literal[EventType.INVOICE_TRANSFER_REQUESTED]
    data: Invoice


class ProjectCompletedEvent(_Event):
    type: Literal[EventType.PROJECT_COMPLETED]
    data: Project


AnyEvent = Annotated[
    ContactUpsertedEvent
    | ContactTransferRequestedEvent
    | InvoiceUpsertedEvent
    | InvoiceTransferRequestedEvent
    | ProjectCompletedEvent,
    Field(discriminator="type"),
]


class EventBatch(Model):
    model_config = ConfigDict(extra="forbid")

    events: list[AnyEvent] = Field(min_length=1, max_length=100)


class EventsRequestDoc(Model):
    """One event, or {"events": [...]} with up to 100."""

    body: AnyEvent | EventBatch


# The document's example (events/platform-invoice-upserted.json in short); tests check it is accepted.
EVENT_EXAMPLE: dict[str, Any] = {
    "id": "evt-invoice-2026-020-sent",
    "type": "invoice.upserted",
    "occurred_at": "2026-11-21T14:00:00+01:00",
    "data": {
        "source_id": "inv-2026-020",
        "number": "PL-2026-020",
        "status": "sent",
        "invoice_date": "2026-11-21",
        "title": "Rechnung Kurs Herbst 2026",
        "customer": {
            "source_id": "cust-2002",
            "first_name": "Erika",
            "last_name": "Mustermann",
            "emails": ["erika@mustermann.example"],
            "billing_address": {"street": "Lindenallee 5", "zip": "50667", "city": "Köln", "country": "DE"},
        },
        "positions": [
            {"name": "Agility-Kurs", "quantity": "10", "unit": "h", "unit_price": "35.00", "tax_rate": "19"},
        ],
    },
}


# --- status column in one call (I6) ----------------------------------------------------------------
MAX_LOOKUP = 100
DocumentStatus = Literal[
    "not_transferred", "queued", "sending", "transferred", "failed", "skipped", "waiting_for_credentials"
]


class DocumentRef(Model):
    model_config = ConfigDict(extra="forbid")

    kind: TransferKind = Field(description="contact · invoice · invoice_draft")
    source_id: str = Field(min_length=1, max_length=128, description="The platform's id of the document")


class LookupRequest(Model):
    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentRef] = Field(
        min_length=1, max_length=MAX_LOOKUP, description=f"1 to {MAX_LOOKUP} documents, answered in this order"
    )


class DocumentStateView(Model):
    kind: TransferKind
    source_id: str
    status: DocumentStatus = Field(
        description="The document's latest transfer: not_transferred (nothing accepted for it) · queued · "
        "sending (only while a backfill sends its copy) · transferred · failed · skipped · waiting_for_credentials "
        "(parked until a new sevDesk token)"
    )
    transfer_id: str | None = Field(default=None, description="The latest transfer (null: not_transferred)")
    sevdesk_id: str | None = None
    sevdesk_number: str | None = Field(default=None, description="The number sevDesk shows (invoices)")
    reason: str | None = Field(default=None, description="Outcome, or why it failed / was skipped / waits")
    version: datetime | None = Field(default=None, description="occurred_at of the event the transfer came from")
    updated_at: datetime | None = None


class LookupResult(Model):
    documents: list[DocumentStateView]


# --- transfer what is not transferred yet (I6) -----------------------------------------------------
class EnsuredDocument(Model):
    kind: TransferKind
    source_id: str
    outcome: Literal["new_transfer", "already_transferred", "in_progress", "newer_version"] = Field(
        description="new_transfer: queued now · already_transferred / in_progress: its latest transfer "
        "(transferred, or queued/sending) has this version or a newer one, so nothing new was queued · "
        "newer_version: its latest transfer (failed, skipped, parked) is of a newer version; an older "
        "version never replaces it (retry that transfer instead)"
    )
    transfer_id: str = Field(description="The new transfer, or the existing one that already covers it")
    status: TransferStatus


class EnsureEventResult(Model):
    index: int
    event_id: str | None
    status: Literal["accepted", "unchanged", "rejected", "conflict"] = Field(
        description="accepted: at least one document was queued · unchanged: every document was already "
        "transferred or on its way (nothing recorded) · rejected / conflict: as on the events route"
    )
    transfers: list[TransferSummary] = Field(default_factory=list, description="The transfers queued now")
    documents: list[EnsuredDocument] = Field(default_factory=list)
    error: ErrorBody | None = None


class EnsureResult(Model):
    accepted: int
    unchanged: int
    rejected: int
    results: list[EnsureEventResult]
