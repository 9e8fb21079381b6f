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

import base64
import secrets
import threading
import time
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.errors import Conflict

if TYPE_CHECKING:
    from sevbridge.domain.intake_models import DocumentKey

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
# After the position, a dot and the document the transfer is about (kind code + base64url of the source
# id, no padding): a document's current transfer may have no item of its own (its document travels in
# its queue message), so its id alone must lead to its pointer. Ids still sort by creation time (the
# stem is fixed-width hex). Ids without the dot (made before) name no document; they all have items.
_POSITION_DIGITS = 2
_KIND_CODES = {TransferKind.CONTACT: "c", TransferKind.INVOICE: "i", TransferKind.INVOICE_DRAFT: "d"}
_CODE_KINDS = {code: kind for kind, code in _KIND_CODES.items()}
# The longest document part: a source id of 128 characters of 4 UTF-8 bytes each, in base64url. With it a
# transfer's sort key (`TRANSFER#` + id, ~720 bytes) stays under DynamoDB's 1024 bytes, and so does gsi1sk.
MAX_SOURCE_ID_BYTES = 512
MAX_DOCUMENT_PART = 1 + (MAX_SOURCE_ID_BYTES * 4 + 2) // 3
TRANSFER_ID_PATTERN = rf"^tr_[0-9a-f]{{14,40}}(\.[{''.join(_CODE_KINDS)}][A-Za-z0-9_-]{{1,{MAX_DOCUMENT_PART - 1}}})?$"


def _document_part(kind: TransferKind, source_id: str) -> str:
    encoded = base64.urlsafe_b64encode(source_id.encode()).decode().rstrip("=")
    return f".{_KIND_CODES[TransferKind(kind)]}{encoded}"


def event_transfer_id(stem: str, position: int, kind: TransferKind, source_id: str) -> str:
    return f"{stem}{position:0{_POSITION_DIGITS}x}{_document_part(kind, source_id)}"


def with_stem(transfer_id: str, stem: str) -> str:
    """The id of the same document of the same event under another delivery's stem."""
    return stem + transfer_id[len(stem_of(transfer_id)) :]


def stem_of(transfer_id: str) -> str:
    return transfer_id.partition(".")[0][:-_POSITION_DIGITS]


def short_id(transfer_id: str) -> str:
    """The id without its document part: as unique (the stem is unique per event delivery, the position
    per document in it) and at most 27 characters, where a whole id does not fit (an SQS FIFO
    deduplication id is at most 128 characters; an id naming a long source id is up to 712)."""
    return transfer_id.partition(".")[0]


def document_of(transfer_id: str) -> DocumentKey | None:
    """The document a transfer id names; None for an id that names none (made before the dot, or
    malformed: a reader answers it like an unknown id, never with an error)."""
    from sevbridge.domain.intake_models import DocumentKey  # it builds on this module

    _, dot, part = transfer_id.partition(".")
    kind = _CODE_KINDS.get(part[:1])
    if not dot or kind is None or not 1 < len(part) <= MAX_DOCUMENT_PART:
        return None
    encoded = part[1:]
    try:
        source_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    # One spelling per document: a non-canonical encoding (stray bits, padding) names no transfer.
    if not source_id or _document_part(kind, source_id) != f".{part}":
        return None
    return DocumentKey(kind=kind, source_id=source_id)
