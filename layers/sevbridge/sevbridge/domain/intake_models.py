"""Records of accepted events and ledger queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.ledger import Transfer, TransferKind, TransferStatus

RECEIPT_DAYS = 30  # how long an event id is remembered for idempotent redelivery


class EventReceipt(Model):
    platform_id: str
    tenant_id: str
    event_id: str
    body_hash: str
    transfer_ids: list[str]
    answer: dict[str, Any]
    created_at: datetime


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
