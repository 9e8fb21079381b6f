"""In-process locks for the contacts of a tenant's transfers that run side by side (lanes).

The transfer worker runs a tenant's batch in lanes (domain/lanes.py); two invoices of one customer may
run at once. The customer is resolved under its contact's lock, so a new or changed contact is created
or updated by the first and merely found (from its mapping row, no sevDesk call) by the second. Every
contact create also holds the tenant's `new contact` lock: a contact the platform sent without a
customer number gets sevDesk's next free one, and two creates side by side would take the same.

Only one batch of a tenant is in flight at a time (SQS FIFO), so in-process locks are enough for the
transfer worker; backfills run elsewhere and the ledger's per-document claim (which waits for a pending
live transfer) covers them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Protocol


class ContactLocks(Protocol):
    def contact(self, platform_id: str, tenant_id: str, source_id: str) -> AbstractContextManager[object]: ...
    def new_contact(self, platform_id: str, tenant_id: str) -> AbstractContextManager[object]: ...


class NoLocks:
    """For a push that never runs beside another of its tenant."""

    def contact(self, platform_id: str, tenant_id: str, source_id: str) -> AbstractContextManager[object]:
        return nullcontext()

    def new_contact(self, platform_id: str, tenant_id: str) -> AbstractContextManager[object]:
        return nullcontext()


class ProcessLocks:
    """Re-entrant locks by key, dropped when nobody holds or waits for them (no growth with tenants)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, ...], tuple[threading.RLock, int]] = {}

    def contact(self, platform_id: str, tenant_id: str, source_id: str) -> AbstractContextManager[object]:
        return self._held((platform_id, tenant_id, "contact", source_id))

    def new_contact(self, platform_id: str, tenant_id: str) -> AbstractContextManager[object]:
        return self._held((platform_id, tenant_id, "new contact"))

    def held_keys(self) -> int:
        with self._guard:
            return len(self._locks)

    @contextmanager
    def _held(self, key: tuple[str, ...]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key) or (threading.RLock(), 0)
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


# One per process: every push service of the transfer worker shares it.
process_locks = ProcessLocks()


class TenantLocks:
    """`locks` bound to one tenant, for the push service of one of its transfers."""

    def __init__(self, locks: ContactLocks, platform_id: str, tenant_id: str) -> None:
        self._locks = locks
        self._platform_id = platform_id
        self._tenant_id = tenant_id

    def contact(self, source_id: str) -> AbstractContextManager[object]:
        return self._locks.contact(self._platform_id, self._tenant_id, source_id)

    def new_contact(self) -> AbstractContextManager[object]:
        return self._locks.new_contact(self._platform_id, self._tenant_id)
