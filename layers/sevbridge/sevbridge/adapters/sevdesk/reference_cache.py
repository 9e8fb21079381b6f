"""Per-tenant cache of sevDesk reference data (units, categories, countries, the SevUser id, check
accounts, our contact custom-field setting id): in the process for a short time and, with a `store`,
across containers in DynamoDB (reference_store.py, one item per tenant with a 24 h TTL).

A Lambda container serves many transfers in a row, mostly of few tenants; reading the same reference
lists for every document is what made a sent invoice cost 14 sevDesk calls, and every new container
(cold start, scale-out) read them again. Entries are keyed by the client's `tenant_key` and never
shared between tenants, even when two tenants use one sevDesk account. In the process they expire
after `ttl` seconds; on a miss the tenant's stored item is read once per `ttl` (one GetItem), and what
the gateway reads from sevDesk is written through to it. The gateway drops a tenant's entries (here
and in the store) whenever sevDesk rejects a request of that tenant (4xx, including 401), and reads
past the cache before the domain refuses a document for missing reference data, so a stale entry
costs at most one rejected call.

The process part lives like the error brake; `reset()` (tests) clears it, not the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

DEFAULT_TTL_SECONDS = 600.0
# Expired entries of other tenants are swept when a tenant is added beyond this many.
SWEEP_ABOVE_TENANTS = 256

Key = tuple[str, ...]


class ReferenceStore(Protocol):
    """The cache's second tier, shared by all containers (reference_store.DynamoReferenceStore)."""

    def load(self, tenant_key: str) -> dict[Key, Any]:
        """The tenant's live entries; {} when none (or when the store cannot be read)."""
        ...

    def save(self, tenant_key: str, key: Key, value: Any) -> None: ...
    def forget(self, tenant_key: str) -> None: ...


class ReferenceCache:
    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        store: ReferenceStore | None = None,
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl must be >= 0")
        self.ttl = ttl
        self._clock = clock
        self.store = store
        self._lock = threading.Lock()
        # tenant_key -> key -> (expires_at, value); values are immutable (tuples, frozen records)
        self._entries: dict[str, dict[Key, tuple[float, Any]]] = {}
        # tenant_key -> until when the store's item counts as read (one GetItem per tenant and ttl)
        self._loaded: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"ReferenceCache(ttl={self.ttl}, tenants={len(self._entries)})"

    def get(self, tenant_key: str, key: Key) -> tuple[bool, Any]:
        """(True, value) for a live entry, else (False, None)."""
        hit, value = self._get_here(tenant_key, key)
        if hit or self.store is None or self._loaded.get(tenant_key, float("-inf")) > self._clock():
            return hit, value
        stored = self.store.load(tenant_key)
        with self._lock:
            now = self._clock()
            self._loaded[tenant_key] = now + self.ttl
            entries = self._entries.setdefault(tenant_key, {})
            for stored_key, stored_value in stored.items():
                entries.setdefault(stored_key, (now + self.ttl, stored_value))
        return self._get_here(tenant_key, key)

    def _get_here(self, tenant_key: str, key: Key) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(tenant_key, {}).get(key)
            if entry is None:
                return False, None
            if entry[0] <= self._clock():
                del self._entries[tenant_key][key]
                return False, None
            return True, entry[1]

    def put(self, tenant_key: str, key: Key, value: Any, *, shared: bool = True) -> None:
        """`shared=False`: kept in this process only (a guess that is cheap to be wrong about)."""
        with self._lock:
            now = self._clock()
            if tenant_key not in self._entries and len(self._entries) >= SWEEP_ABOVE_TENANTS:
                self._sweep(now)
            self._entries.setdefault(tenant_key, {})[key] = (now + self.ttl, value)
        if shared and self.store is not None:
            self.store.save(tenant_key, key, value)

    def get_or_load(self, tenant_key: str, key: Key, load: Callable[[], T]) -> T:
        hit, value = self.get(tenant_key, key)
        if hit:
            return cast("T", value)
        loaded = load()
        self.put(tenant_key, key, loaded)
        return loaded

    def forget(self, tenant_key: str) -> None:
        """Drop everything cached for one tenant, in the store too."""
        with self._lock:
            self._entries.pop(tenant_key, None)
            self._loaded.pop(tenant_key, None)
        if self.store is not None:
            self.store.forget(tenant_key)

    def reset(self) -> None:
        """Drop everything in this process (tests, local stack restarts); the store is left alone."""
        with self._lock:
            self._entries.clear()
            self._loaded.clear()

    def tenants(self) -> set[str]:
        with self._lock:
            return set(self._entries)

    def _sweep(self, now: float) -> None:
        for tenant_key in list(self._entries):
            live = {k: v for k, v in self._entries[tenant_key].items() if v[0] > now}
            if live:
                self._entries[tenant_key] = live
            else:
                del self._entries[tenant_key]
                self._loaded.pop(tenant_key, None)


default_reference_cache = ReferenceCache()
