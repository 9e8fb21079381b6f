"""Interfaces the domain needs from the outside world. Adapters implement them; tests may use fakes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sevbridge.domain.connection import Connection, SevdeskIdentity
from sevbridge.domain.platform import Platform


class Clock(Protocol):
    def now(self) -> datetime: ...


class PlatformStore(Protocol):
    def save(self, platform: Platform, key_hash: str) -> None: ...
    def find_by_key_hash(self, key_hash: str) -> Platform | None: ...
    def list(self) -> list[Platform]: ...


class ConnectionStore(Protocol):
    def get(self, platform_id: str, tenant_id: str) -> Connection | None: ...
    def save(self, connection: Connection) -> None: ...
    def list_connections(self) -> list[Connection]: ...


class TenantEraser(Protocol):
    def erase(self, platform_id: str, tenant_id: str) -> int:
        """Delete every item the tenant owns in every table; returns how many were deleted."""
        ...


class TokenVault(Protocol):
    """Encrypts tokens with an encryption context that binds them to platform + tenant (C1)."""

    def seal(self, token: str, *, platform_id: str, tenant_id: str) -> bytes: ...
    def open(self, ciphertext: bytes, *, platform_id: str, tenant_id: str) -> str: ...


class SevdeskProbe(Protocol):
    """Checks a token against sevDesk; raises sevbridge.domain.sevdesk_errors on failure (C2)."""

    def identify(self, token: str, *, tenant_key: str) -> SevdeskIdentity: ...


class ParkedWork(Protocol):
    """Work parked while a tenant's token was invalid (C3); resumed when a new token is stored."""

    def resume(self, platform_id: str, tenant_id: str) -> int: ...
