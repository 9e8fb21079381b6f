"""A tenant's connection is read once per transfer-worker batch, for a bounded time (connection_reuse.py)."""

from __future__ import annotations

from typing import Any

from sevbridge.domain.connection_reuse import ReusedConnections


class CountingStore:
    """A connection store that answers from a dict and counts its reads."""

    def __init__(self) -> None:
        self.connections: dict[tuple[str, str], Any] = {("p", "t"): "connection v1"}
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
    assert [reused.get("p", "t") for _ in range(5)] == ["connection v1"] * 5
    assert store.reads == 1
    store.connections[("p", "t")] = "connection v2"  # e.g. disabled meanwhile
    ticks.now += 10.0  # not later than the age limit
    assert reused.get("p", "t") == "connection v2"
    assert store.reads == 2


def test_a_rejected_token_makes_the_next_transfer_read_again() -> None:
    reused, store, _ = reuse()
    reused.get("p", "t")
    store.connections[("p", "t")] = "reconnect required"
    reused.forget("p", "t")
    assert reused.get("p", "t") == "reconnect required"
    assert store.reads == 2


def test_a_missing_connection_is_not_remembered_and_tenants_are_apart() -> None:
    reused, store, _ = reuse()
    assert reused.get("p", "other") is None
    store.connections[("p", "other")] = "stored meanwhile"
    assert reused.get("p", "other") == "stored meanwhile"
    assert reused.get("p", "t") == "connection v1"
    assert store.reads == 3
