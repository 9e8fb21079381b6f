"""The ledger: the durable record of every transfer and its state machine (design.md I6, I8, C3).

queued ──> sending ──> transferred
   ^  │       │──────> failed ──(retry)──> queued
   │  │       │──────> skipped
   │  │       └──────> waiting_for_credentials ──(new token)──> queued
   │  └──(live: no `sending` write)──> transferred / failed / skipped / waiting_for_credentials
   └──────────(retryable error: back to queued, SQS redelivers)

A transfer run from the transfer queue (live) is never written `sending`: its claim is the consistent
read before the attempt (docs/ledger.md, "Exclusivity per document"); only a backfill's transfer, run
from the backfill queue, claims its document with a `sending` write.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.errors import Conflict

MAX_HISTORY = 20  # enough for every attempt (8) with its retry note; bounded, so the state stays small


class TransferKind(StrEnum):
    CONTACT = "contact"
    INVOICE = "invoice"
    INVOICE_DRAFT = "invoice_draft"


class TransferStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    TRANSFERRED = "transferred"
    FAILED = "failed"
    SKIPPED = "skipped"
    WAITING_FOR_CREDENTIALS = "waiting_for_credentials"


TERMINAL = frozenset({TransferStatus.TRANSFERRED, TransferStatus.SKIPPED, TransferStatus.FAILED})

ALLOWED: dict[TransferStatus, frozenset[TransferStatus]] = {
    TransferStatus.QUEUED: frozenset(
        {
            TransferStatus.QUEUED,  # re-sent because its message went missing
            TransferStatus.SENDING,
            TransferStatus.TRANSFERRED,  # a live attempt: the outcome is its only write
            TransferStatus.WAITING_FOR_CREDENTIALS,
            TransferStatus.SKIPPED,
            TransferStatus.FAILED,
        }
    ),
    # sending → sending: the previous attempt died mid-flight (crash, timeout); the new one reconciles.
    TransferStatus.SENDING: frozenset(set(TransferStatus)),
    TransferStatus.FAILED: frozenset({TransferStatus.QUEUED}),
    TransferStatus.WAITING_FOR_CREDENTIALS: frozenset({TransferStatus.QUEUED}),
    TransferStatus.TRANSFERRED: frozenset(),
    TransferStatus.SKIPPED: frozenset(),
}


class HistoryEntry(Model):
    at: datetime
    status: TransferStatus
    note: str | None = None


class Transfer(Model):
    transfer_id: str
    platform_id: str
    tenant_id: str
    kind: TransferKind
    source_id: str
    event_id: str
    event_type: str
    status: TransferStatus
    manual: bool = Field(default=False, description="Transfer whatever the status (I1, P3)")
    attempts: int = 0
    uncertain: bool = Field(
        default=False, description="An earlier attempt may have reached sevDesk: reconcile before creating"
    )
    last_error: str | None = None
    reason: str | None = Field(default=None, description="Human-readable outcome or why it was skipped")
    sevdesk_id: str | None = None
    sevdesk_number: str | None = None
    source_version: datetime
    payload: dict[str, Any] = Field(repr=False)
    requeues: int = 0
    unsettled_version: datetime | None = Field(
        default=None,
        description="Set on a claim (not stored): the newest version of this document whose attempt may have "
        "reached sevDesk unrecorded; an older version stands back",
    )
    live: bool = Field(
        default=False,
        description="Set on a state change (not stored) that puts the transfer on the transfer queue: its "
        "document's pointer remembers it as the pending live transfer, which a backfill's claim waits for",
    )
    live_attempt: bool = Field(
        default=False,
        description="Set (not stored) while a live attempt runs without a `sending` write: its outcome "
        "settles or marks the document's unsettled attempts as a released claim would",
    )
    delivery: str | None = Field(
        default=None,
        description="`<message id>:<receive count>` of the queue delivery that wrote this state: the next "
        "receive of that message knows the attempt before it ended with a recorded outcome",
    )
    stored: bool = Field(
        default=False,
        description="Known (not stored) to have a transfer item holding its document: a live transfer on the "
        "happy path has none, its queue message carries the document (docs/ledger.md)",
    )
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry] = Field(default_factory=list)

    def moved_to(self, status: TransferStatus, now: datetime, note: str | None = None, **changes: Any) -> Transfer:
        if status not in ALLOWED[self.status]:
            raise Conflict(f"transfer {self.transfer_id} is {self.status.value}; it cannot become {status.value}")
        history = [*self.history, HistoryEntry(at=now, status=status, note=note)][-MAX_HISTORY:]
        return self.model_copy(update={"status": status, "updated_at": now, "history": history, **changes})


class TransferDocument(Model):
    """What a transfer transfers, which never changes: its document and the event it came with. A live
    transfer's queue message carries it, so the happy path stores no transfer item (docs/ledger.md)."""

    kind: TransferKind
    source_id: str
    created_at: datetime
    event_id: str
    event_type: str
    manual: bool = False
    source_version: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, transfer: Transfer) -> TransferDocument:
        return cls.model_validate(transfer.model_dump(include=set(cls.model_fields)))

    def transfer(self, transfer_id: str, platform_id: str, tenant_id: str, state: dict[str, Any]) -> Transfer:
        """The transfer with this document and `state` (status, attempts, history, … as stored)."""
        return Transfer.model_validate(
            {"transfer_id": transfer_id, "platform_id": platform_id, "tenant_id": tenant_id} | self.model_dump() | state
        )


_id_lock = threading.Lock()
_last_id_ms = 0
_id_seq = 0


def new_transfer_id() -> str:
    """Strictly increasing within a process (ms + sequence), so ids sort in creation order and a
    tenant's parked work resumes in the order it arrived; the random tail keeps processes apart."""
    global _last_id_ms, _id_seq
    with _id_lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_id_ms:
            _id_seq += 1
        else:
            _last_id_ms, _id_seq = now_ms, 0
        return f"tr_{_last_id_ms:012x}{_id_seq:04x}{secrets.token_hex(3)}"


# An event's transfers share one id stem and end in their document's position in the event (2 hex digits:
# a contact event holds at most 1 + 50 documents). The ledger keeps no record of the event itself: any
# one of its transfer ids, found on a document's pointer, names all of them (docs/ledger.md).
_POSITION_DIGITS = 2


def event_transfer_id(stem: str, position: int) -> str:
    return f"{stem}{position:0{_POSITION_DIGITS}x}"


def with_stem(transfer_id: str, stem: str) -> str:
    """The id of the same document of the same event under another delivery's stem."""
    return stem + transfer_id[-_POSITION_DIGITS:]


def stem_of(transfer_id: str) -> str:
    return transfer_id[:-_POSITION_DIGITS]
