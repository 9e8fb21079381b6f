"""The webhook API's use cases: endpoints and their secrets, test events, the delivery log and replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sevbridge.domain.errors import Conflict, InvalidInput, NotFound
from sevbridge.domain.notify.deliveries import Delivery, DeliveryStatus
from sevbridge.domain.notify.endpoints import (
    MAX_ENDPOINTS_PER_PLATFORM,
    Endpoint,
    EndpointKind,
    SealedSecret,
    new_endpoint_id,
    new_signing_secret,
    override_id,
    override_tenant,
)
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.notify.ports import (
    DeliveryPage,
    DeliveryQuery,
    DeliveryStore,
    DispatchMessage,
    DispatchQueue,
    EndpointCatalog,
    EndpointStore,
    SecretSealer,
)
from sevbridge.domain.notify.types import NotificationType
from sevbridge.domain.notify.urls import UrlPolicy, check_url
from sevbridge.domain.ports import Clock

MAX_BULK_REPLAY = 500
OVERRIDE_FIELDS = frozenset({"enabled"})


@dataclass
class WebhookEndpoints:
    store: EndpointStore
    catalog: EndpointCatalog
    sealer: SecretSealer
    notifier: Notifier
    deliveries: DeliveryStore
    clock: Clock
    url_policy: UrlPolicy

    def check_url(self, url: str, *, field: str = "url") -> str:
        return check_url(url, self.url_policy, field=field)

    def create(
        self,
        platform_id: str,
        *,
        url: str,
        event_types: Sequence[NotificationType] | None = None,
        tenant_ids: Sequence[str] | None = None,
        enabled: bool = True,
        description: str | None = None,
    ) -> tuple[Endpoint, str]:
        """Returns the endpoint and its signing secret; the secret is shown this once and stored sealed."""
        url = self.check_url(url)
        if len(self.store.list_endpoints(platform_id)) >= MAX_ENDPOINTS_PER_PLATFORM:
            raise Conflict(f"a platform can have at most {MAX_ENDPOINTS_PER_PLATFORM} webhook endpoints")
        now = self.clock.now()
        endpoint_id = new_endpoint_id()
        secret = new_signing_secret()
        endpoint = Endpoint(
            endpoint_id=endpoint_id,
            platform_id=platform_id,
            url=url,
            description=description,
            event_types=_unique(event_types),
            tenant_ids=_unique(tenant_ids),
            enabled=enabled,
            disabled_reason=None if enabled else "disabled by the platform",
            disabled_at=None if enabled else now,
            secrets=[self._seal(secret, platform_id, endpoint_id, now)],
            created_at=now,
            updated_at=now,
        )
        stored = self.store.save(endpoint)
        self.catalog.forget(platform_id)
        return stored, secret

    def list_page(self, platform_id: str, *, cursor: str | None, limit: int) -> tuple[list[Endpoint], str | None]:
        """The platform's endpoints (first page), then tenants' URL overrides by tenant id."""
        endpoints = [] if cursor else sorted(self.store.list_endpoints(platform_id), key=lambda e: e.created_at)
        overrides, next_cursor = self.store.list_overrides(platform_id, cursor, limit)
        return endpoints + overrides, next_cursor

    def get(self, platform_id: str, endpoint_id: str) -> Endpoint:
        endpoint = self.store.get(platform_id, endpoint_id)
        if endpoint is None:
            tenant = override_tenant(endpoint_id)
            hint = f" (tenant '{tenant}' has no settings.webhook_url)" if tenant is not None else ""
            raise NotFound(f"webhook endpoint '{endpoint_id}' not found{hint}")
        return endpoint

    def update(self, platform_id: str, endpoint_id: str, changes: dict[str, Any]) -> Endpoint:
        """PATCH: only the fields given change. A tenant override can only be enabled/disabled here (its URL
        is the tenant's settings.webhook_url)."""
        endpoint = self.get(platform_id, endpoint_id)
        now = self.clock.now()
        if endpoint.kind is EndpointKind.TENANT_OVERRIDE and set(changes) - OVERRIDE_FIELDS:
            fields = sorted(set(changes) - OVERRIDE_FIELDS)
            raise InvalidInput(
                "a tenant's URL override changes through its connection settings (settings.webhook_url); "
                "here only `enabled` can be set",
                details=[{"field": name, "problem": "cannot be changed on a tenant override"} for name in fields],
            )
        update: dict[str, Any] = {"updated_at": now}
        if "url" in changes:
            if changes["url"] is None:
                raise InvalidInput("url cannot be removed", details=[{"field": "url", "problem": "is required"}])
            update["url"] = self.check_url(changes["url"])
        if "event_types" in changes:
            update["event_types"] = _unique(changes["event_types"])
        if "tenant_ids" in changes:
            update["tenant_ids"] = _unique(changes["tenant_ids"])
        if "description" in changes:
            update["description"] = changes["description"]
        updated = endpoint.model_copy(update=update)
        if "enabled" in changes and changes["enabled"] is not None and changes["enabled"] != endpoint.enabled:
            enable = bool(changes["enabled"])
            updated = updated.enabled_again(now) if enable else updated.disabled(now, "disabled by the platform")
        stored = self.store.save(updated)
        self.catalog.forget(platform_id, endpoint.tenant_id)
        return stored

    def delete(self, platform_id: str, endpoint_id: str) -> Endpoint:
        endpoint = self.get(platform_id, endpoint_id)
        if endpoint.kind is EndpointKind.TENANT_OVERRIDE:
            raise Conflict(
                "a tenant's URL override is removed by setting its connection's settings.webhook_url to null"
            )
        self.store.delete(endpoint)
        self.catalog.forget(platform_id)
        return endpoint

    def rotate_secret(self, platform_id: str, endpoint_id: str) -> tuple[Endpoint, str]:
        """A new secret signs from now on; the previous one also signs for 24 h (both signatures are sent),
        so receivers can switch without losing a delivery."""
        endpoint = self.get(platform_id, endpoint_id)
        now = self.clock.now()
        secret = new_signing_secret()
        rotated = endpoint.with_new_secret(self._seal(secret, platform_id, endpoint_id, now), now)
        return self.store.save(rotated), secret

    def tenant_settings_changed(self, platform_id: str, tenant_id: str) -> str | None:
        """After a tenant's settings were stored: routing for the tenant is re-read at once (this process;
        others within the catalog's minute), and an override URL gets its signing secret the first time —
        returned to be shown once; None when there is no URL or it has a secret already."""
        self.catalog.forget(platform_id, tenant_id)
        endpoint = self.store.get(platform_id, override_id(tenant_id))
        if endpoint is None or endpoint.secrets:
            return None
        now = self.clock.now()
        secret = new_signing_secret()
        fresh = endpoint.with_new_secret(self._seal(secret, platform_id, endpoint.endpoint_id, now), now)
        self.store.save(fresh.model_copy(update={"created_at": now}))
        self.catalog.forget(platform_id, tenant_id)
        return secret

    def send_test(self, platform_id: str, endpoint_id: str) -> Delivery:
        endpoint = self.get(platform_id, endpoint_id)
        notices = self.notifier.test_event(endpoint)
        self.deliveries.write(notices)
        self.notifier.dispatch_soon(notices)
        return notices.deliveries[0]

    def _seal(self, secret: str, platform_id: str, endpoint_id: str, now: datetime) -> SealedSecret:
        return SealedSecret(
            ciphertext=self.sealer.seal(secret, platform_id=platform_id, endpoint_id=endpoint_id), created_at=now
        )


@dataclass(frozen=True)
class ReplayReport:
    replayed: list[Delivery]
    skipped: int  # their endpoint is gone or disabled
    more: bool  # stopped at MAX_BULK_REPLAY: call again for the rest


@dataclass
class WebhookDeliveries:
    store: DeliveryStore
    endpoints: EndpointStore
    queue: DispatchQueue
    clock: Clock

    def search(self, platform_id: str, query: DeliveryQuery) -> DeliveryPage:
        return self.store.query(platform_id, query)

    def get(self, platform_id: str, delivery_id: str) -> Delivery:
        delivery = self.store.find(platform_id, delivery_id)
        if delivery is None:
            raise NotFound(f"delivery '{delivery_id}' not found")
        return delivery

    def replay(self, platform_id: str, delivery_id: str) -> Delivery:
        """Sends a delivery again now, whatever its state: same webhook-id and body, a new round of attempts."""
        delivery = self.get(platform_id, delivery_id)
        problem = self._blocked(delivery, {})
        if problem:
            raise Conflict(f"delivery {delivery_id} cannot be replayed: {problem}")
        replayed = delivery.replayed(self.clock.now())
        if not self.store.update(replayed, seen=delivery):
            raise Conflict(f"delivery {delivery_id} is being sent right now; look again in a moment")
        self.queue.enqueue([DispatchMessage(replayed.ref, replayed.attempts_made)])
        return replayed

    def replay_failed(
        self,
        platform_id: str,
        *,
        since: datetime,
        until: datetime | None = None,
        endpoint_id: str | None = None,
        tenant_id: str | None = None,
        statuses: frozenset[DeliveryStatus] = frozenset({DeliveryStatus.FAILED, DeliveryStatus.EXHAUSTED}),
    ) -> ReplayReport:
        """Replays failed/exhausted deliveries created in [since, until), oldest first, up to
        MAX_BULK_REPLAY per call (replayed ones no longer match, so calling again continues)."""
        if statuses - {DeliveryStatus.FAILED, DeliveryStatus.EXHAUSTED}:
            raise InvalidInput(
                "bulk replay takes failed and exhausted deliveries only",
                details=[{"field": "statuses", "problem": "only failed and exhausted"}],
            )
        replayed: list[Delivery] = []
        skipped = 0
        cursor: str | None = None
        seen_endpoints: dict[str, Endpoint | None] = {}
        now = self.clock.now()
        while True:
            page = self.store.query(
                platform_id,
                DeliveryQuery(
                    endpoint_id=endpoint_id,
                    tenant_id=tenant_id,
                    statuses=statuses,
                    since=since,
                    until=until,
                    limit=100,
                    cursor=cursor,
                    oldest_first=True,
                ),
            )
            for delivery in page.items:
                if len(replayed) >= MAX_BULK_REPLAY:
                    self._enqueue(replayed)
                    return ReplayReport(replayed, skipped, more=True)
                if self._blocked(delivery, seen_endpoints):
                    skipped += 1
                    continue
                fresh = delivery.replayed(now)
                if self.store.update(fresh, seen=delivery):
                    replayed.append(fresh)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        self._enqueue(replayed)
        return ReplayReport(replayed, skipped, more=False)

    def _enqueue(self, deliveries: list[Delivery]) -> None:
        self.queue.enqueue([DispatchMessage(d.ref, d.attempts_made) for d in deliveries])

    def _blocked(self, delivery: Delivery, cache: dict[str, Endpoint | None]) -> str | None:
        if delivery.endpoint_id not in cache:
            cache[delivery.endpoint_id] = self.endpoints.get(delivery.platform_id, delivery.endpoint_id)
        endpoint = cache[delivery.endpoint_id]
        if endpoint is None:
            return "its endpoint no longer exists"
        if not endpoint.enabled and delivery.type is not NotificationType.TEST:
            return f"its endpoint {endpoint.endpoint_id} is disabled; enable it first (PATCH …/endpoints/{{id}})"
        return None


def _unique(values: Sequence[Any] | None) -> list[Any] | None:
    if values is None:
        return None
    return list(dict.fromkeys(values))
