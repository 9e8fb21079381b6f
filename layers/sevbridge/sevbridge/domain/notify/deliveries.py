"""A delivery: one notification to one destination, with every attempt (design.md "Outgoing webhooks").

    pending ──(2xx)──────────────────────> succeeded
       │ ──(other 4xx, 3xx, refused URL)──> failed
       │ ──(timeout, network, 408/429/5xx)─> pending (next attempt per the backoff schedule)
       │ ──(same, after the last attempt)──> exhausted
    failed / exhausted / succeeded ──(replay)──> pending (a new round, same webhook-id)

`attempts_made` counts attempts over all rounds; a queue message names the count it expects, so a
duplicate or stale message is recognised and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.notify.backoff import MAX_ATTEMPTS, delay_after
from sevbridge.domain.notify.ids import sortable_id
from sevbridge.domain.notify.types import NotificationType

MAX_ATTEMPTS_KEPT = 20
EXCERPT_BYTES = 1024
RETENTION = timedelta(days=30)

Outcome = Literal["succeeded", "retry", "failed"]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class SendResult:
    """What one HTTP attempt produced (reported by the sender adapter)."""

    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    refused: bool = False  # our own safety policy refused the destination: nothing was sent
    retry_after_seconds: float | None = None
    excerpt: str | None = None

    @property
    def outcome(self) -> Outcome:
        if self.refused:
            return "failed"
        code = self.status_code
        if code is None:
            return "retry"  # timeout, connection refused, DNS failure, reset: the receiver may come back
        if 200 <= code < 300:
            return "succeeded"
        if code in (408, 429) or code >= 500:
            return "retry"
        return "failed"  # other 4xx and 3xx (redirects are not followed): retrying cannot help


class Attempt(Model):
    number: int = Field(description="1-based within its round")
    round: int = Field(description="0 = the original delivery, 1… = replays")
    at: datetime
    outcome: Outcome
    status_code: int | None = None
    latency_ms: int
    error: str | None = None
    response_excerpt: str | None = Field(default=None, description=f"First {EXCERPT_BYTES} bytes of the answer")


class DeliveryRef(Model):
    platform_id: str
    tenant_id: str | None = None
    delivery_id: str


class Delivery(Model):
    delivery_id: str
    platform_id: str
    tenant_id: str | None
    endpoint_id: str
    message_id: str = Field(description="The webhook-id: the same for every destination, retry and replay")
    type: NotificationType
    occurred_at: datetime
    body: str = Field(repr=False, description="The exact JSON sent and signed")
    status: DeliveryStatus = DeliveryStatus.PENDING
    round: int = 0
    attempts_in_round: int = 0
    attempts_made: int = 0
    next_attempt_at: datetime | None = None
    enqueued_for: datetime | None = Field(
        default=None, description="next_attempt_at a queue message was sent for (None: waits for the tick)"
    )
    last_error: str | None = None
    last_status_code: int | None = None
    created_at: datetime
    updated_at: datetime
    attempts: list[Attempt] = Field(default_factory=list)

    @classmethod
    def new(
        cls,
        *,
        platform_id: str,
        tenant_id: str | None,
        endpoint_id: str,
        message_id: str,
        type_: NotificationType,
        occurred_at: datetime,
        body: str,
        now: datetime,
    ) -> Delivery:
        # The caller sends a queue message right after the write; if it cannot, the tick finds the
        # delivery overdue and sends it then.
        return cls(
            delivery_id=sortable_id("dlv", now),
            platform_id=platform_id,
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            message_id=message_id,
            type=type_,
            occurred_at=occurred_at,
            body=body,
            next_attempt_at=now,
            enqueued_for=now,
            created_at=now,
            updated_at=now,
        )

    @property
    def ref(self) -> DeliveryRef:
        return DeliveryRef(platform_id=self.platform_id, tenant_id=self.tenant_id, delivery_id=self.delivery_id)

    def after_attempt(self, result: SendResult, now: datetime) -> Delivery:
        number = self.attempts_in_round + 1
        outcome = result.outcome
        attempt = Attempt(
            number=number,
            round=self.round,
            at=now,
            outcome=outcome,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            response_excerpt=result.excerpt,
        )
        delay = delay_after(number, result.retry_after_seconds) if outcome == "retry" else None
        if outcome == "succeeded":
            status = DeliveryStatus.SUCCEEDED
        elif outcome == "failed":
            status = DeliveryStatus.FAILED
        else:
            status = DeliveryStatus.PENDING if delay is not None else DeliveryStatus.EXHAUSTED
        error = None if outcome == "succeeded" else (result.error or f"HTTP {result.status_code}")
        if status is DeliveryStatus.EXHAUSTED:
            error = f"gave up after {MAX_ATTEMPTS} attempts: {error}"
        return self.model_copy(
            update={
                "status": status,
                "attempts_in_round": number,
                "attempts_made": self.attempts_made + 1,
                "next_attempt_at": now + delay if delay is not None else None,
                "enqueued_for": None,
                "last_error": error,
                "last_status_code": result.status_code,
                "updated_at": now,
                "attempts": [*self.attempts, attempt][-MAX_ATTEMPTS_KEPT:],
            }
        )

    def abandoned(self, reason: str, now: datetime) -> Delivery:
        """Its destination is gone or disabled: nothing is sent; visible, and replayable later."""
        return self.model_copy(
            update={
                "status": DeliveryStatus.FAILED,
                "next_attempt_at": None,
                "enqueued_for": None,
                "last_error": reason,
                "updated_at": now,
            }
        )

    def replayed(self, now: datetime) -> Delivery:
        """A new round of attempts, starting now, with the same webhook-id and body."""
        fresh_round = not (self.status is DeliveryStatus.PENDING and self.attempts_in_round == 0)
        return self.model_copy(
            update={
                "status": DeliveryStatus.PENDING,
                "round": self.round + 1 if fresh_round else self.round,
                "attempts_in_round": 0,
                "next_attempt_at": now,
                "enqueued_for": now,
                "updated_at": now,
            }
        )

    def scheduled_via_queue(self) -> Delivery:
        """The next attempt is close enough for a delayed queue message (the caller sends it)."""
        return self.model_copy(update={"enqueued_for": self.next_attempt_at})

    @property
    def expires_at(self) -> datetime:
        return self.updated_at + RETENTION


def new_message_id(now: datetime) -> str:
    return sortable_id("msg", now)
