"""Webhook endpoints: where a platform's notifications go, which types and tenants each one wants, its
signing secrets (rotation keeps the previous one valid for 24 h) and its health.

A tenant's URL override (`settings.webhook_url`) is modelled as an endpoint too, with the id
`tenant:<tenant_id>`: it receives every event about that tenant *instead of* the platform's endpoints,
signed with its own secret (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field

from sevbridge.common.model import Model
from sevbridge.domain.notify.types import TENANT_TYPES, NotificationType

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# The previous secret stays valid this long after a rotation: both signatures are sent meanwhile.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_SECRETS = 3
MAX_ENDPOINTS_PER_PLATFORM = 20
MAX_TENANT_FILTER = 100
# An endpoint that has not had one successful delivery for this long (while failing) is disabled.
DISABLE_AFTER = timedelta(days=5)
OVERRIDE_PREFIX = "tenant:"


class EndpointKind(StrEnum):
    ENDPOINT = "endpoint"
    TENANT_OVERRIDE = "tenant_override"


def new_signing_secret() -> str:
    """`whsec_` + base64 of 32 random bytes, the format the standardwebhooks libraries read."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_endpoint_id() -> str:
    return "ep_" + secrets.token_hex(10)


def override_id(tenant_id: str) -> str:
    return OVERRIDE_PREFIX + tenant_id


def override_tenant(endpoint_id: str) -> str | None:
    return endpoint_id.removeprefix(OVERRIDE_PREFIX) if endpoint_id.startswith(OVERRIDE_PREFIX) else None


class SealedSecret(Model):
    """A signing secret encrypted with KMS (encryption context: platform + endpoint)."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    ciphertext: bytes = Field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class Endpoint(Model):
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    endpoint_id: str
    platform_id: str
    kind: EndpointKind = EndpointKind.ENDPOINT
    # For a tenant override the URL lives in the tenant's settings and is filled in when read.
    url: str | None = None
    description: str | None = None
    event_types: list[NotificationType] | None = Field(default=None, description="None = every type")
    tenant_ids: list[str] | None = Field(default=None, description="None = every tenant")
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    failing_since: datetime | None = None
    secrets: list[SealedSecret] = Field(default_factory=list, repr=False)
    created_at: datetime
    updated_at: datetime
    revision: int = Field(default=0, description="Optimistic-concurrency counter; 0 = not stored yet")

    @property
    def tenant_id(self) -> str | None:
        """The tenant of an override."""
        return override_tenant(self.endpoint_id) if self.kind is EndpointKind.TENANT_OVERRIDE else None

    def wants(self, type_: NotificationType, tenant_id: str | None) -> bool:
        if self.kind is EndpointKind.TENANT_OVERRIDE:
            return type_ in TENANT_TYPES and tenant_id == self.tenant_id
        if self.event_types is not None and type_ not in self.event_types:
            return False
        return tenant_id is None or self.tenant_ids is None or tenant_id in self.tenant_ids

    def active_secrets(self, now: datetime) -> list[SealedSecret]:
        """Newest first; during a rotation both the new and the previous secret."""
        return sorted((s for s in self.secrets if s.valid_at(now)), key=lambda s: s.created_at, reverse=True)

    def with_new_secret(self, sealed: SealedSecret, now: datetime) -> Endpoint:
        kept = [
            s if s.expires_at is not None else s.model_copy(update={"expires_at": now + ROTATION_OVERLAP})
            for s in self.active_secrets(now)
        ]
        return self.model_copy(update={"secrets": [sealed, *kept][:MAX_SECRETS], "updated_at": now})

    def failed_at(self, now: datetime) -> Endpoint:
        if self.failing_since is not None:
            return self
        return self.model_copy(update={"failing_since": now, "updated_at": now})

    def succeeded_at(self, now: datetime) -> Endpoint:
        return self.model_copy(update={"failing_since": None, "updated_at": now})

    def should_be_disabled(self, now: datetime) -> bool:
        return self.enabled and self.failing_since is not None and now - self.failing_since >= DISABLE_AFTER

    def disabled(self, now: datetime, reason: str) -> Endpoint:
        return self.model_copy(
            update={"enabled": False, "disabled_reason": reason, "disabled_at": now, "updated_at": now}
        )

    def enabled_again(self, now: datetime) -> Endpoint:
        return self.model_copy(
            update={
                "enabled": True,
                "disabled_reason": None,
                "disabled_at": None,
                "failing_since": None,
                "updated_at": now,
            }
        )


def destinations(
    endpoints: list[Endpoint], override: Endpoint | None, tenant_id: str | None, type_: NotificationType
) -> list[Endpoint]:
    """Who gets a notification: a tenant with a URL override gets it there and nowhere else (while the
    override is disabled: nowhere); otherwise every enabled endpoint that wants the type and tenant."""
    if tenant_id is not None and override is not None:
        return [override] if override.enabled and override.wants(type_, tenant_id) else []
    return [e for e in endpoints if e.enabled and e.wants(type_, tenant_id)]
