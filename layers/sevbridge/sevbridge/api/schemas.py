"""Request and response bodies of the HTTP contract (design.md "The HTTP contract (v1)")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from sevbridge.api.schemas_imports import ImportsHealth
from sevbridge.common.model import Model
from sevbridge.domain.connection import TOKEN_PATTERN, Connection, ConnectionStatus, SevdeskIdentity
from sevbridge.domain.connections import Reason
from sevbridge.domain.settings import TenantSettings

# Shape only: no sevDesk account has this token (the test suite's sandbox creates one that does, so
# tools that send the document's examples reach the success paths).
EXAMPLE_TOKEN = "e0e0e0e0a1a1a1a1b2b2b2b2c3c3c3c3"


class ConnectionPut(Model):
    """Store or rotate a tenant's sevDesk token and/or change its settings.

    The token is required to create a connection and optional afterwards (settings-only update).
    Settings are merged over the current ones: omitted fields keep their value (defaults at creation).
    """

    model_config = ConfigDict(extra="forbid")

    sevdesk_token: SecretStr | None = Field(
        default=None,
        description="The sevDesk API token of an administrator user: 32 hexadecimal characters.",
        json_schema_extra={"format": "password", "pattern": "^[0-9a-fA-F]{32}$", "examples": [EXAMPLE_TOKEN]},
    )
    settings: TenantSettings | None = Field(default=None, description="Only the fields you send are changed.")

    @field_validator("sevdesk_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if not TOKEN_PATTERN.fullmatch(token):
            # Never echo the value: a near-miss token is still a secret.
            raise ValueError("must be 32 hexadecimal characters (the sevDesk API token)")
        return SecretStr(token)

    def settings_patch(self) -> dict[str, Any] | None:
        if self.settings is None:
            return None
        return self.settings.model_dump(mode="json", include=self.settings.model_fields_set)


class ConnectionHealth(Model):
    last_checked_at: datetime | None = None
    last_error: str | None = None
    reconnect_required_since: datetime | None = None


class ConnectionView(Model):
    tenant_id: str
    status: ConnectionStatus = Field(
        description="`connected`, or `reconnect_required` after sevDesk rejected the token (C3)."
    )
    token_fingerprint: str = Field(description="Last 4 characters of the token; the token is never shown.")
    token_version: int = Field(description="Increases with every stored token.")
    settings: TenantSettings
    sevdesk: SevdeskIdentity | None = None
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None = None
    health: ConnectionHealth
    imports: ImportsHealth | None = Field(
        default=None, description="Per kind: last successful import, last reconciliation, last error (M5)"
    )

    @classmethod
    def of(cls, connection: Connection) -> ConnectionView:
        return cls(
            tenant_id=connection.tenant_id,
            status=connection.status,
            token_fingerprint=connection.token_fingerprint,
            token_version=connection.token_version,
            settings=connection.settings,
            sevdesk=connection.identity,
            created_at=connection.created_at,
            updated_at=connection.updated_at,
            last_sync_at=connection.last_sync_at,
            health=ConnectionHealth(
                last_checked_at=connection.last_checked_at,
                last_error=connection.last_error,
                reconnect_required_since=connection.reconnect_required_since,
            ),
        )


class ConnectionPutResult(ConnectionView):
    created: bool = Field(description="True when this request created the connection.")
    resumed_transfers: int = Field(
        default=0, description="Transfers parked while the token was invalid and now resumed (C3)."
    )
    webhook_secret: str | None = Field(
        default=None,
        description="Signing secret (`whsec_…`) of the tenant's URL override (settings.webhook_url): shown only "
        "in the answer that first sets a URL. Rotate: POST /v1/webhooks/endpoints/tenant:{tenant_id}/rotate-secret.",
    )


class ConnectionTestResult(Model):
    ok: bool
    reason: Reason | None = Field(default=None, description="Why the test failed; null when ok.")
    message: str | None = None
    sevdesk: SevdeskIdentity | None = Field(
        default=None, description="Bookkeeping system version and the token's sevDesk user/client."
    )
    connection: ConnectionView


class TenantDeleted(Model):
    tenant_id: str
    deleted: Literal[True] = True
    items_deleted: int = Field(description="Stored items removed: token, settings, ledger, jobs, changes.")
