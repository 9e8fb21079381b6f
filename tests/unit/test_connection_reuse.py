"""A tenant's connection is read once per transfer-worker batch, for a bounded time (connection_reuse.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.connection_reuse import ReusedConnections
from sevbridge.domain.settings import TenantSettings


def conn(
    version: int = 1, *, status: ConnectionStatus = ConnectionStatus.CONNECTED, enabled: bool = True
) -> Connection:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return Connection(
        platform_id="p",
        tenant_id="t",
        token_ciphertext=b"x",
        token_fingerprint="…abcd",
        token_version=version,
        status=status,
        settings=TenantSettings(enabled=enabled),
        created_at=now,
        updated_at=now,
    )


class CountingStore:
    """A connection store that answers from a dict and counts its reads."""

    def __init__(self) -> None:
        self.connections: dict[tuple[str, str], Any] = {("p", "t"): conn(1)}
        self.reads = 0

    def get(self, platform_id: str, tenant_id: str) -> Any:
        self.reads += 1
        return self.connections.get((platform_id, tenant_id))


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def reuse() -> tuple[ReusedConnections, CountingStore, Ticks]:
    store, ticks = CountingStore(), Ticks()
    return ReusedConnections(store, max_age=10.0, monotonic=ticks), store, ticks  # type: ignore[arg-type]


def test_a_batch_reads_a_tenants_connection_once_within_the_age_limit() -> None:
    reused, store, ticks = reuse()
    assert [reused.get("p", "t") for _ in range(5)] == [conn(1)] * 5
    assert store.reads == 1
    store.connections[("p", "t")] = conn(2)  # e.g. settings changed meanwhile
    ticks.now += 10.0  # not later than the age limit
    assert reused.get("p", "t") == conn(2)
    assert store.reads == 2


def test_a_rejected_token_makes_the_next_transfer_read_again() -> None:
    reused, store, _ = reuse()
    reused.get("p", "t")
    rejected = conn(1, status=ConnectionStatus.RECONNECT_REQUIRED)
    store.connections[("p", "t")] = rejected
    reused.forget("p", "t")
    assert reused.get("p", "t") == rejected
    assert store.reads == 2


def test_a_connection_that_cannot_be_used_is_read_again_by_every_transfer() -> None:
    """A new token or re-enabling must reach the batch's next transfer, not 10 s later."""
    reused, store, _ = reuse()
    for unusable in (conn(1, status=ConnectionStatus.RECONNECT_REQUIRED), conn(1, enabled=False)):
        store.connections[("p", "t")], store.reads = unusable, 0
        reused.forget("p", "t")
        assert [reused.get("p", "t") for _ in range(3)] == [unusable] * 3
        assert store.reads == 3
    store.connections[("p", "t")] = conn(2)
    assert reused.get("p", "t") == conn(2)


def test_a_missing_connection_is_not_remembered_and_tenants_are_apart() -> None:
    reused, store, _ = reuse()
    assert reused.get("p", "other") is None
    store.connections[("p", "other")] = conn(3)
    assert reused.get("p", "other") == conn(3)
    assert reused.get("p", "t") == conn(1)
    assert store.reads == 3
