"""Per-tenant cache of sevDesk reference data (units, categories, countries, the SevUser id, check
accounts, our contact custom-field setting id), kept in the process for a short time.

A Lambda container serves many transfers in a row, mostly of few tenants; reading the same reference
lists for every document is what made a sent invoice cost 14 sevDesk calls. Entries are keyed by the
client's `tenant_key` and never shared between tenants, even when two tenants use one sevDesk account.
They expire after `ttl` seconds. The gateway drops a tenant's entries whenever sevDesk rejects a
request of that tenant (4xx, including 401), and reads past the cache before the domain refuses a
document for missing reference data, so a stale entry costs at most one rejected call.

Like the error brake, the cache lives in the process; `reset()` is for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

DEFAULT_TTL_SECONDS = 600.0
# Expired entries of other tenants are swept when a tenant is added beyond this many.
SWEEP_ABOVE_TENANTS = 256

Key = tuple[str, ...]


class ReferenceCache:
    def __init__(self, *, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0:
            raise ValueError("ttl must be >= 0")
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        # tenant_key -> key -> (expires_at, value); values are immutable (tuples, frozen records)
        self._entries: dict[str, dict[Key, tuple[float, Any]]] = {}

    def __repr__(self) -> str:
        return f"ReferenceCache(ttl={self.ttl}, tenants={len(self._entries)})"

    def get(self, tenant_key: str, key: Key) -> tuple[bool, Any]:
        """(True, value) for a live entry, else (False, None)."""
        with self._lock:
            entry = self._entries.get(tenant_key, {}).get(key)
            if entry is None:
                return False, None
            if entry[0] <= self._clock():
                del self._entries[tenant_key][key]
                return False, None
            return True, entry[1]

    def put(self, tenant_key: str, key: Key, value: Any) -> None:
        with self._lock:
            now = self._clock()
            if tenant_key not in self._entries and len(self._entries) >= SWEEP_ABOVE_TENANTS:
                self._sweep(now)
            self._entries.setdefault(tenant_key, {})[key] = (now + self.ttl, value)

    def get_or_load(self, tenant_key: str, key: Key, load: Callable[[], T]) -> T:
        hit, value = self.get(tenant_key, key)
        if hit:
            return cast("T", value)
        loaded = load()
        self.put(tenant_key, key, loaded)
        return loaded

    def forget(self, tenant_key: str) -> None:
        """Drop everything cached for one tenant."""
        with self._lock:
            self._entries.pop(tenant_key, None)

    def reset(self) -> None:
        """Drop everything (tests, local stack restarts)."""
        with self._lock:
            self._entries.clear()

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


default_reference_cache = ReferenceCache()
