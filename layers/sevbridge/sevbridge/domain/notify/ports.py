"""What the notify domain needs from the outside world; adapters implement these, tests may use fakes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sevbridge.domain.errors import DomainError
from sevbridge.domain.notify.deliveries import Delivery, DeliveryRef, DeliveryStatus, SendResult
from sevbridge.domain.notify.endpoints import Endpoint
from sevbridge.domain.notify.notices import Notices
from sevbridge.domain.notify.types import NotificationType


@dataclass(frozen=True)
class DispatchMessage:
    """A queue message: "make attempt number `seq` + 1 of this delivery" (after `delay_seconds`)."""

    ref: DeliveryRef
    seq: int
    delay_seconds: int = 0


class DispatchQueue(Protocol):
    def enqueue(self, messages: Sequence[DispatchMessage]) -> int:
        """Sends the messages; never raises. Returns how many were sent: what was not is found by the
        schedule tick (the outbox is the truth, the queue only a wake-up call)."""
        ...


class EndpointCatalog(Protocol):
    """Read side used when a notification is recorded: cached briefly, so the "does anyone want this?"
    check costs next to nothing per state change."""

    def platform_endpoints(self, platform_id: str) -> list[Endpoint]: ...
    def tenant_override(self, platform_id: str, tenant_id: str) -> Endpoint | None: ...
    def forget(self, platform_id: str, tenant_id: str | None = None) -> None: ...


class EndpointStore(Protocol):
    def get(self, platform_id: str, endpoint_id: str) -> Endpoint | None:
        """A platform endpoint, or a tenant override (`tenant:<id>`, URL from the tenant's settings)."""
        ...

    def list_endpoints(self, platform_id: str) -> list[Endpoint]: ...
    def list_overrides(self, platform_id: str, after: str | None, limit: int) -> tuple[list[Endpoint], str | None]:
        """Tenant overrides by tenant id, after the tenant id `after`; returns (page, last tenant id if more)."""
        ...

    def save(self, endpoint: Endpoint, notices: Notices | None = None) -> Endpoint:
        """Writes if nobody wrote since it was read (`revision`); raises ConcurrentUpdate otherwise."""
        ...

    def delete(self, endpoint: Endpoint) -> None: ...


@dataclass(frozen=True)
class DeliveryQuery:
    endpoint_id: str | None = None
    tenant_id: str | None = None
    statuses: frozenset[DeliveryStatus] | None = None
    type: NotificationType | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None
    oldest_first: bool = False


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: str | None = None


@dataclass(frozen=True)
class DueDelivery:
    ref: DeliveryRef
    next_attempt_at: datetime
    enqueued_for: datetime | None
    attempts_made: int


class DeliveryStore(Protocol):
    def get(self, ref: DeliveryRef) -> Delivery | None: ...
    def find(self, platform_id: str, delivery_id: str) -> Delivery | None: ...
    def write(self, notices: Notices) -> bool:
        """Notices that no other state change accompanies (test events); False if a guard suppressed them."""
        ...

    def update(self, delivery: Delivery, *, seen: Delivery) -> bool:
        """Writes if the stored delivery is still as `seen` (status, attempts, round); False otherwise."""
        ...

    def query(self, platform_id: str, query: DeliveryQuery) -> DeliveryPage: ...
    def due(self, until: datetime) -> Iterator[DueDelivery]:
        """Pending deliveries whose next attempt is at or before `until`, soonest first per shard."""
        ...

    def mark_enqueued(self, due: DueDelivery) -> bool:
        """Records that a message was sent for this attempt (if the delivery is still as `due` saw it)."""
        ...


class GuardStore(Protocol):
    def last_notice_at(self, platform_id: str, tenant_id: str, key: str) -> datetime | None: ...


class SecretUnreadable(DomainError):
    """A stored signing secret cannot be decrypted (key disabled, ciphertext damaged): no retry helps."""

    code = "secret_unreadable"


class SecretSealer(Protocol):
    """Encrypts signing secrets with KMS, bound to platform + endpoint; `open` raises SecretUnreadable for
    permanent failures and TemporarilyUnavailable for transient ones."""

    def seal(self, secret: str, *, platform_id: str, endpoint_id: str) -> bytes: ...
    def open(self, ciphertext: bytes, *, platform_id: str, endpoint_id: str) -> str: ...


@dataclass(frozen=True)
class OutgoingWebhook:
    url: str
    body: str
    message_id: str
    timestamp: datetime
    secrets: Sequence[str] = field(repr=False)


class WebhookSender(Protocol):
    def send(self, webhook: OutgoingWebhook) -> SendResult:
        """Signs (Standard Webhooks, one signature per secret) and POSTs once; never raises for anything
        the receiver or the network does."""
        ...
