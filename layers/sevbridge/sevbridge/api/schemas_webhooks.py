"""Bodies of the webhook routes: endpoints, secrets, the delivery log and replay (docs/webhooks.md)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema

from sevbridge.api.params import IsoDateTime
from sevbridge.common.model import Model
from sevbridge.domain.connection import TENANT_ID_PATTERN
from sevbridge.domain.notify.deliveries import Attempt, Delivery, DeliveryStatus
from sevbridge.domain.notify.endpoints import MAX_TENANT_FILTER, Endpoint, EndpointKind
from sevbridge.domain.notify.types import SUBSCRIBABLE_TYPES, NotificationType

TenantRef = Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
EVENT_TYPES_DOC = (
    "Event types to receive; omit or null for every type (also types added later). "
    f"One of: {', '.join(sorted(t.value for t in SUBSCRIBABLE_TYPES))}."
)
TENANTS_DOC = "Only events about these tenants; omit or null for every tenant."


def _not_test(value: NotificationType) -> NotificationType:
    if value is NotificationType.TEST:
        raise ValueError("webhook.test is sent on request (POST …/test), not subscribed to")
    return value


# The document lists only the types an endpoint may subscribe to, so a client never sends one we refuse.
SubscribableType = Annotated[
    NotificationType,
    AfterValidator(_not_test),
    WithJsonSchema({"type": "string", "enum": sorted(t.value for t in SUBSCRIBABLE_TYPES)}),
]


class EndpointCreate(Model):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="Where deliveries are POSTed: a public https URL (no credentials; a token in the path or "
        "query is fine, it is never logged).",
    )
    event_types: list[SubscribableType] | None = Field(default=None, min_length=1, description=EVENT_TYPES_DOC)
    tenant_ids: list[TenantRef] | None = Field(
        default=None, min_length=1, max_length=MAX_TENANT_FILTER, description=TENANTS_DOC
    )
    enabled: bool = True
    description: str | None = Field(default=None, max_length=200)


class EndpointPatch(Model):
    """Only the fields you send change; `null` for event_types / tenant_ids means "all"."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    event_types: list[SubscribableType] | None = Field(default=None, min_length=1, description=EVENT_TYPES_DOC)
    tenant_ids: list[TenantRef] | None = Field(default=None, min_length=1, max_length=MAX_TENANT_FILTER)
    enabled: bool | None = Field(default=None, description="true re-enables a disabled endpoint")
    description: str | None = Field(default=None, max_length=200)

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class EndpointView(Model):
    endpoint_id: str = Field(description="`ep_…`, or `tenant:<tenant_id>` for a tenant's URL override")
    kind: EndpointKind
    url: str | None
    description: str | None = None
    event_types: list[NotificationType] | None = Field(description="null = every type")
    tenant_ids: list[str] | None = Field(description="null = every tenant")
    enabled: bool
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    failing_since: datetime | None = Field(
        default=None, description="Deliveries have failed since then, none succeeded; disabled after 5 days"
    )
    secret_created_at: datetime | None = Field(default=None, description="When the current signing secret was made")
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="During a rotation: until then deliveries carry a signature with the old secret too"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint, now: datetime) -> Self:
        secrets = endpoint.active_secrets(now)
        return cls(
            **endpoint.model_dump(
                include={
                    "endpoint_id",
                    "kind",
                    "url",
                    "description",
                    "event_types",
                    "tenant_ids",
                    "enabled",
                    "disabled_reason",
                    "disabled_at",
                    "failing_since",
                    "created_at",
                    "updated_at",
                }
            ),
            secret_created_at=secrets[0].created_at if secrets else None,
            previous_secret_expires_at=max((s.expires_at for s in secrets if s.expires_at), default=None),
        )


class EndpointCreated(EndpointView):
    secret: str = Field(description="Signing secret (`whsec_…`): shown only now. Verify deliveries with it.")


class SecretRotated(Model):
    endpoint: EndpointView
    secret: str = Field(description="The new signing secret (`whsec_…`): shown only now")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then every delivery carries signatures with the new and the previous secret"
    )


class EndpointList(Model):
    items: list[EndpointView]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page")


class EndpointDeleted(Model):
    endpoint_id: str
    deleted: Literal[True] = True


class DeliveryView(Model):
    delivery_id: str
    endpoint_id: str
    tenant_id: str | None
    type: NotificationType
    message_id: str = Field(description="The `webhook-id` header and the body's `id`: deduplicate by it")
    status: DeliveryStatus = Field(description="pending · succeeded · failed · exhausted")
    attempt_count: int = Field(description="Attempts made, over all rounds")
    round: int = Field(description="0 = the original delivery; each replay starts a new round")
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Delivery) -> Self:
        return cls(
            **d.model_dump(
                include={
                    "delivery_id",
                    "endpoint_id",
                    "tenant_id",
                    "type",
                    "message_id",
                    "status",
                    "round",
                    "next_attempt_at",
                    "last_status_code",
                    "last_error",
                    "occurred_at",
                    "created_at",
                    "updated_at",
                }
            ),
            attempt_count=d.attempts_made,
        )


class DeliveryDetail(DeliveryView):
    attempts: list[Attempt] = Field(description="Every attempt (the latest 20): time, status, latency, error, answer")
    payload: dict[str, Any] = Field(description="The body sent, exactly as signed")

    @classmethod
    def of(cls, d: Delivery) -> Self:
        return cls(**DeliveryView.of(d).model_dump(), attempts=d.attempts, payload=json.loads(d.body))


class DeliveryList(Model):
    items: list[DeliveryView]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page")


class BulkReplay(Model):
    """Replays failed and exhausted deliveries created in [since, until), oldest first."""

    model_config = ConfigDict(extra="forbid")

    since: IsoDateTime = Field(description="Deliveries created at or after this time (ISO 8601 with offset)")
    until: IsoDateTime | None = Field(default=None, description="…and before this time (ISO 8601 with offset)")
    endpoint_id: str | None = Field(default=None, max_length=160)
    tenant_id: TenantRef | None = None
    statuses: list[Literal["failed", "exhausted"]] | None = Field(
        default=None, min_length=1, max_length=2, description="Default: both failed and exhausted"
    )


class BulkReplayResult(Model):
    replayed: int
    skipped: int = Field(description="Matching deliveries whose endpoint is deleted or disabled")
    more: bool = Field(description="true: stopped at 500; call again with the same body for the rest")
    deliveries: list[DeliveryView]
