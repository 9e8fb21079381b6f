"""Delivering: one queue message = one attempt of one delivery (design.md "Outgoing webhooks").

The attempt is recorded with a write conditional on the delivery being as it was read, so a duplicate
message never records twice. The next attempt is scheduled as a delayed queue message when it is due
within SQS's 15-minute limit, else left to the schedule tick (sweeper.py). Endpoint health follows the
results: an endpoint without a single success for DISABLE_AFTER is disabled, with a notice to the
platform's other endpoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sevbridge.domain.errors import ConcurrentUpdate
from sevbridge.domain.notify.deliveries import Delivery, DeliveryStatus
from sevbridge.domain.notify.endpoints import Endpoint
from sevbridge.domain.notify.notices import Notices
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.notify.ports import (
    DeliveryStore,
    DispatchMessage,
    DispatchQueue,
    EndpointStore,
    OutgoingWebhook,
    SecretSealer,
    SecretUnreadable,
    WebhookSender,
)
from sevbridge.domain.notify.types import NotificationType
from sevbridge.domain.ports import Clock

log = logging.getLogger(__name__)

MAX_QUEUE_DELAY = timedelta(seconds=900)  # SQS DelaySeconds limit
EARLY_TOLERANCE = timedelta(seconds=1)

Result = Literal["succeeded", "retry", "failed", "exhausted", "abandoned", "stale", "early"]


@dataclass(frozen=True)
class DispatchOutcome:
    result: Result
    delivery: Delivery | None = None


@dataclass
class Dispatcher:
    deliveries: DeliveryStore
    endpoints: EndpointStore
    sealer: SecretSealer
    sender: WebhookSender
    queue: DispatchQueue
    notifier: Notifier
    clock: Clock

    def process(self, message: DispatchMessage) -> DispatchOutcome:
        delivery = self.deliveries.get(message.ref)
        if delivery is None or delivery.status is not DeliveryStatus.PENDING or delivery.attempts_made != message.seq:
            return DispatchOutcome("stale", delivery)  # done, replaced by a newer message, or its tenant is gone
        now = self.clock.now()
        due = delivery.next_attempt_at or now
        if due - now > EARLY_TOLERANCE:
            # Arrived before its time (a wait longer than one SQS delay): wait the rest.
            self.queue.enqueue([DispatchMessage(message.ref, message.seq, _delay_seconds(due - now))])
            return DispatchOutcome("early", delivery)

        endpoint = self.endpoints.get(delivery.platform_id, delivery.endpoint_id)
        # A test event may go to a disabled endpoint: that is how a platform checks its fix before enabling.
        problem = _unusable(endpoint, allow_disabled=delivery.type is NotificationType.TEST)
        if problem is not None:
            abandoned = delivery.abandoned(problem, now)
            self.deliveries.update(abandoned, seen=delivery)
            return DispatchOutcome("abandoned", abandoned)
        assert endpoint is not None and endpoint.url is not None
        try:
            secrets = [
                self.sealer.open(s.ciphertext, platform_id=endpoint.platform_id, endpoint_id=endpoint.endpoint_id)
                for s in endpoint.active_secrets(now)
            ]
        except SecretUnreadable as exc:
            abandoned = delivery.abandoned(f"{exc.message}; rotate the endpoint's secret, then replay", now)
            self.deliveries.update(abandoned, seen=delivery)
            return DispatchOutcome("abandoned", abandoned)
        result = self.sender.send(
            OutgoingWebhook(
                url=endpoint.url, body=delivery.body, message_id=delivery.message_id, timestamp=now, secrets=secrets
            )
        )
        done_at = self.clock.now()
        updated = delivery.after_attempt(result, done_at)
        wait = (updated.next_attempt_at - done_at) if updated.next_attempt_at is not None else None
        if wait is not None and wait <= MAX_QUEUE_DELAY:
            updated = updated.scheduled_via_queue()
        if not self.deliveries.update(updated, seen=delivery):
            return DispatchOutcome("stale", delivery)  # a concurrent duplicate recorded this attempt first
        if wait is not None and updated.enqueued_for is not None:
            self.queue.enqueue([DispatchMessage(updated.ref, updated.attempts_made, _delay_seconds(wait))])
        if endpoint.enabled:
            self._track_health(endpoint, succeeded=result.outcome == "succeeded", error=updated.last_error)
        outcome: Result = "exhausted" if updated.status is DeliveryStatus.EXHAUSTED else result.outcome
        return DispatchOutcome(outcome, updated)

    def _track_health(self, endpoint: Endpoint, *, succeeded: bool, error: str | None) -> None:
        """Only transitions are written (first failure, first success after failures, disabling)."""
        now = self.clock.now()
        notices: Notices | None = None
        if succeeded:
            if endpoint.failing_since is None:
                return
            updated = endpoint.succeeded_at(now)
        elif endpoint.failing_since is None:
            updated = endpoint.failed_at(now)
        elif endpoint.should_be_disabled(now):
            days = (now - endpoint.failing_since).days
            reason = f"no successful delivery for {days} days; last error: {error or 'unknown'}"
            updated = endpoint.disabled(now, reason)
            notices = self.notifier.endpoint_disabled(endpoint, reason, now)
            log.warning("webhook endpoint %s disabled: failing for %d days", endpoint.endpoint_id, days)
        else:
            return
        try:
            self.endpoints.save(updated, notices)
        except ConcurrentUpdate:
            return  # someone changed the endpoint meanwhile; the next attempt looks again
        if not updated.enabled:
            self.notifier.catalog.forget(endpoint.platform_id, endpoint.tenant_id)  # stop recording for it here
        if notices:
            self.notifier.dispatch_soon(notices)


def _unusable(endpoint: Endpoint | None, *, allow_disabled: bool) -> str | None:
    if endpoint is None:
        return "the endpoint was deleted (or the tenant's URL override removed); nothing was sent"
    if not endpoint.enabled and not allow_disabled:
        return f"the endpoint is disabled ({endpoint.disabled_reason or 'by the platform'}); nothing was sent"
    if not endpoint.url:
        return "the endpoint has no URL; nothing was sent"
    if not endpoint.secrets:
        return (
            "the tenant's URL override has no signing secret yet: send PUT …/connection with "
            "settings.webhook_url again (or rotate its secret) to create one; nothing was sent"
        )
    return None


def _delay_seconds(wait: timedelta) -> int:
    return max(0, min(int(wait.total_seconds() + 0.999), int(MAX_QUEUE_DELAY.total_seconds())))
