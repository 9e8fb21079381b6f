"""A tenant's connection to sevDesk: encrypted token, settings and health (C1–C5)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field

from sevbridge.common.model import Model
from sevbridge.domain.errors import NotFound
from sevbridge.domain.settings import TenantSettings

if TYPE_CHECKING:
    from sevbridge.domain.ports import ConnectionStore

TOKEN_PATTERN = re.compile(r"^[0-9a-fA-F]{32}$")
TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    RECONNECT_REQUIRED = "reconnect_required"


class SevdeskIdentity(Model):
    """What a successful token test found (C2)."""

    model_config = ConfigDict(frozen=True)

    bookkeeping_system_version: str
    user_id: str | None = None
    user_name: str | None = None
    client_id: str | None = None
    client_name: str | None = None


class Connection(Model):
    """Stored per (platform, tenant). `token_ciphertext` is KMS output bound to platform + tenant."""

    platform_id: str
    tenant_id: str
    token_ciphertext: bytes = Field(repr=False)
    token_fingerprint: str
    token_version: int = 1
    revision: int = Field(default=0, description="Optimistic-concurrency counter; 0 = not stored yet")
    status: ConnectionStatus = ConnectionStatus.CONNECTED
    settings: TenantSettings = Field(default_factory=TenantSettings)
    identity: SevdeskIdentity | None = None
    created_at: datetime
    updated_at: datetime
    last_checked_at: datetime | None = None
    last_error: str | None = None
    last_sync_at: datetime | None = None
    reconnect_required_since: datetime | None = None


def fingerprint(token: str) -> str:
    """Shown instead of the token: enough to tell two tokens apart, useless to an attacker."""
    return f"…{token[-4:].lower()}"


def require_connection(store: ConnectionStore, platform_id: str, tenant_id: str) -> Connection:
    """The tenant's connection; NotFound (404) when there is none. Here rather than on the connection
    service, so the routes that only read a connection do not build the service's sevDesk probe,
    eraser, notifier and import wiring (issue 10 §4)."""
    connection = store.get(platform_id, tenant_id)
    if connection is None:
        # The same answer whether the tenant is missing or belongs to another platform.
        raise NotFound("this tenant has no connection")
    return connection
