"""Recording notifications: what a state change writes into the outbox, in its own transaction.

Each method returns `Notices` (possibly empty) for the caller's store to write together with the state
change, then the caller calls `dispatch_soon` after the commit. A notice is recorded only when some
enabled destination wants its type (cheap: the catalog is cached), so an unused event type costs nothing.

Rules: `connection.reconnect_required` once per incident (the connection's transition, which its
revision-conditional write lets happen once); `import.failed` at most once per 24 h per tenant and cause
(a guard item in the same transaction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.ledger import Transfer, TransferStatus
from sevbridge.domain.notify import types as t
from sevbridge.domain.notify.deliveries import Delivery, new_message_id
from sevbridge.domain.notify.endpoints import Endpoint, destinations
from sevbridge.domain.notify.notices import NO_NOTICES, Guard, Notices
from sevbridge.domain.notify.ports import DispatchMessage, DispatchQueue, EndpointCatalog, GuardStore
from sevbridge.domain.notify.types import NotificationType
from sevbridge.domain.ports import Clock

IMPORT_FAILED_WINDOW = timedelta(hours=24)
CAUSE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass
class Notifier:
    catalog: EndpointCatalog
    guards: GuardStore
    queue: DispatchQueue
    clock: Clock

    # --- transfers ----------------------------------------------------------------------------------
    def for_transfer(self, transfer: Transfer, *, retryable: bool = False) -> Notices:
        """transfer.succeeded / transfer.failed for a transfer that just reached that state."""
        common = {
            "transfer_id": transfer.transfer_id,
            "kind": transfer.kind.value,
            "source_id": transfer.source_id,
            "event_id": transfer.event_id,
            "event_type": transfer.event_type,
            "attempts": transfer.attempts,
        }
        data: t.TransferSucceeded | t.TransferFailed
        if transfer.status is TransferStatus.TRANSFERRED:
            type_ = NotificationType.TRANSFER_SUCCEEDED
            data = t.TransferSucceeded(
                **common, sevdesk_id=transfer.sevdesk_id, sevdesk_number=transfer.sevdesk_number, reason=transfer.reason
            )
        elif transfer.status is TransferStatus.FAILED:
            type_ = NotificationType.TRANSFER_FAILED
            reason = transfer.reason or transfer.last_error or "failed"
            data = t.TransferFailed(**common, reason=reason, retryable=retryable)
        else:
            return NO_NOTICES
        return self._notices(transfer.platform_id, transfer.tenant_id, type_, data, transfer.updated_at)

    # --- connections (C3) ---------------------------------------------------------------------------
    def for_connection(self, before: Connection | None, after: Connection) -> Notices:
        """reconnect_required when a working connection's token is rejected; restored when a broken one
        works again. Nothing for a new connection or when the status does not change."""
        if before is None or before.status is after.status:
            return NO_NOTICES
        now = self.clock.now()
        if after.status is ConnectionStatus.RECONNECT_REQUIRED:
            data: t.ConnectionReconnectRequired | t.ConnectionRestored = t.ConnectionReconnectRequired(
                token_fingerprint=after.token_fingerprint,
                token_version=after.token_version,
                reason=after.last_error or "sevDesk rejected the token",
                since=after.reconnect_required_since or now,
            )
            type_ = NotificationType.CONNECTION_RECONNECT_REQUIRED
        else:
            data = t.ConnectionRestored(
                token_fingerprint=after.token_fingerprint,
                token_version=after.token_version,
                restored_by="new_token" if after.token_version != before.token_version else "successful_test",
                reconnect_required_since=before.reconnect_required_since,
            )
            type_ = NotificationType.CONNECTION_RESTORED
        return self._notices(after.platform_id, after.tenant_id, type_, data, now)

    # --- imports (M5) and backfills: the API the import worker and backfills call ---------------------
    def import_completed(
        self, platform_id: str, tenant_id: str, summary: t.ImportCompleted, *, notify_unchanged: bool = False
    ) -> Notices:
        """import.completed, only when the import changed something (or the tenant asked for every one)."""
        if summary.changes == 0 and not notify_unchanged:
            return NO_NOTICES
        return self._notices(platform_id, tenant_id, NotificationType.IMPORT_COMPLETED, summary, summary.finished_at)

    def import_failed(
        self,
        platform_id: str,
        tenant_id: str,
        *,
        cause: str,
        message: str,
        retryable: bool,
        import_id: str | None = None,
    ) -> Notices:
        """import.failed at most once per 24 h per tenant and cause (M5: problems at most once a day).
        The check reads the guard first, so a suppressed notice costs no write; the guard written with the
        notice makes the rule hold even when two workers race."""
        if not CAUSE_PATTERN.fullmatch(cause):
            raise InvalidInput(f"import failure cause {cause!r} must be a short code like 'sevdesk_unavailable'")
        now = self.clock.now()
        key = f"{NotificationType.IMPORT_FAILED.value}#{cause}"
        last = self.guards.last_notice_at(platform_id, tenant_id, key)
        if last is not None and now - last < IMPORT_FAILED_WINDOW:
            return NO_NOTICES
        data = t.ImportFailed(
            import_id=import_id,
            cause=cause,
            message=message,
            retryable=retryable,
            next_notice_after=now + IMPORT_FAILED_WINDOW,
        )
        notices = self._notices(platform_id, tenant_id, NotificationType.IMPORT_FAILED, data, now)
        if not notices:
            return NO_NOTICES
        guard = Guard(platform_id, tenant_id, key, IMPORT_FAILED_WINDOW, now)
        return Notices(notices.deliveries, (guard,))

    def changes_available(
        self, platform_id: str, tenant_id: str, *, cursor: str, count: int, kinds: dict[str, int] | None = None
    ) -> Notices:
        if count <= 0:
            return NO_NOTICES
        data = t.ChangesAvailable(cursor=cursor, count=count, kinds=kinds or {})
        return self._notices(platform_id, tenant_id, NotificationType.CHANGES_AVAILABLE, data, self.clock.now())

    def backfill_completed(self, platform_id: str, tenant_id: str, summary: t.BackfillCompleted) -> Notices:
        return self._notices(platform_id, tenant_id, NotificationType.BACKFILL_COMPLETED, summary, summary.finished_at)

    # --- about endpoints ----------------------------------------------------------------------------
    def endpoint_disabled(self, endpoint: Endpoint, reason: str, now: datetime) -> Notices:
        """Told to the platform's *other* endpoints that want it (the disabled one is not listening)."""
        data = t.EndpointDisabled(
            endpoint_id=endpoint.endpoint_id,
            url=endpoint.url or "",
            reason=reason,
            failing_since=endpoint.failing_since or now,
            disabled_at=now,
        )
        type_ = NotificationType.ENDPOINT_DISABLED
        targets = [
            e
            for e in self.catalog.platform_endpoints(endpoint.platform_id)
            if e.endpoint_id != endpoint.endpoint_id and e.enabled and e.wants(type_, None)
        ]
        return self._build(endpoint.platform_id, None, type_, data, now, targets)

    def test_event(self, endpoint: Endpoint) -> Notices:
        now = self.clock.now()
        data = t.WebhookTest(endpoint_id=endpoint.endpoint_id)
        return self._build(endpoint.platform_id, endpoint.tenant_id, NotificationType.TEST, data, now, [endpoint])

    # --- after the commit ---------------------------------------------------------------------------
    def dispatch_soon(self, notices: Notices) -> None:
        """Wakes the dispatcher for freshly written deliveries. Best effort by design: if this process dies
        first or the queue refuses, the schedule tick finds the deliveries overdue and sends them."""
        if notices.deliveries:
            self.queue.enqueue([DispatchMessage(d.ref, seq=d.attempts_made) for d in notices.deliveries])

    # --- helpers ------------------------------------------------------------------------------------
    def _notices(
        self, platform_id: str, tenant_id: str, type_: NotificationType, data: t.EventData, occurred_at: datetime
    ) -> Notices:
        override = self.catalog.tenant_override(platform_id, tenant_id)
        targets = destinations(self.catalog.platform_endpoints(platform_id), override, tenant_id, type_)
        return self._build(platform_id, tenant_id, type_, data, occurred_at, targets)

    def _build(
        self,
        platform_id: str,
        tenant_id: str | None,
        type_: NotificationType,
        data: t.EventData,
        occurred_at: datetime,
        targets: list[Endpoint],
    ) -> Notices:
        if not targets:
            return NO_NOTICES
        now = self.clock.now()
        message_id = new_message_id(now)
        body = t.message_body(message_id, type_, occurred_at, tenant_id, data)
        return Notices(
            tuple(
                Delivery.new(
                    platform_id=platform_id,
                    tenant_id=tenant_id,
                    endpoint_id=target.endpoint_id,
                    message_id=message_id,
                    type_=type_,
                    occurred_at=occurred_at,
                    body=body,
                    now=now,
                )
                for target in targets
            )
        )
