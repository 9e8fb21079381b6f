"""Records of accepted events and ledger queries."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.ledger import Transfer, TransferKind, TransferStatus


class TransferQuery(Model):
    kind: TransferKind | None = None
    status: TransferStatus | None = None
    source_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class TransferPage(Model):
    items: list[Transfer]
    next_cursor: str | None = None


class DocumentKey(Model):
    kind: TransferKind
    source_id: str


class DocumentState(Model):
    """A document's latest transfer, as the per-document pointer records it (I6 status column)."""

    kind: TransferKind
    source_id: str
    transfer_id: str
    status: TransferStatus
    version: datetime
    sevdesk_id: str | None = None
    sevdesk_number: str | None = None
    reason: str | None = None
    updated_at: datetime
    event_id: str | None = None  # the event that made this transfer, and the hash of its body
    body_hash: str | None = None


class Placement(StrEnum):
    """Where a new transfer of an event stands against its document's pointer (see `placement`)."""

    TAKE = "take"  # the pointer moves to it
    HERE = "here"  # the pointer is at it already
    RECORDED = "recorded"  # the pointer is at another transfer of the same event: it was recorded before
    CONFLICT = "conflict"  # the same event id was recorded with another body
    SUPERSEDED = "superseded"  # a newer version of the document is there: no transfer
    BEHIND = "behind"  # a newer transfer of the same or an older version is current: stored, not current


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def placement(state: DocumentState | None, transfer: Transfer, body_hash: str | None) -> Placement:
    """The rule intake writes pointers by. The event id and body hash on the pointer answer a redelivery
    (no receipt item); a pointer's version never goes back, so an older event never takes a document
    from a newer one — and a redelivery whose documents all moved on to newer versions queues nothing."""
    if state is None:
        return Placement.TAKE
    if state.event_id == transfer.event_id and state.body_hash is not None:
        if body_hash is not None and state.body_hash != body_hash:
            return Placement.CONFLICT
        return Placement.HERE if state.transfer_id == transfer.transfer_id else Placement.RECORDED
    if _aware(state.version) > _aware(transfer.source_version):
        return Placement.SUPERSEDED
    if state.transfer_id >= transfer.transfer_id:
        return Placement.BEHIND
    return Placement.TAKE


class EventDraft(Model):
    """An event about to be recorded: its transfers (ids from one stem, in event order) and its body's hash.
    Nothing records the event itself: each pointer its transfers move carries the event id and body hash
    (docs/ledger.md, "Items")."""

    event_id: str
    body_hash: str
    transfers: list[Transfer]


class EventRecord(Model):
    """What the ledger made of an event. `recorded`: the event id was recorded before (a redelivery or a
    concurrent duplicate) — `transfers` then carry the first delivery's ids. `conflict`: recorded before
    with another body. `superseded`: per transfer, the state of its document when a newer version of it
    was already there (no transfer stored for it), else None."""

    outcome: Literal["new", "recorded", "conflict"]
    transfers: list[Transfer] = Field(default_factory=list)
    superseded: list[DocumentState | None] = Field(default_factory=list)
    to_send: list[Transfer] = Field(default_factory=list, description="Its transfers that are `queued` as stored")
