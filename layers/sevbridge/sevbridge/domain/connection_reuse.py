"""A tenant's connection read once per transfer-worker batch (or backfill chunk) instead of once per
transfer (issue 10).

A transfer reads its tenant's connection (token ciphertext, settings, status) before it pushes and
uses what it read for the whole push, seconds later. Transfers of one batch (at most 10 records, run
within seconds; a backfill chunk's lanes alike) reuse that read for up to MAX_AGE_SECONDS: a settings
change or a disable made meanwhile reaches the batch's remaining transfers up to that much later, no
later than it reaches a push already running. A token replaced meanwhile is safe too: sevDesk rejects
the old one (401), the flag is conditional on the token version the transfer used, and the transfer is
parked and resumed. A transfer that finds the token rejected forgets the read (`forget`), so the
batch's next transfer reads the connection again and parks without calling sevDesk, as before. Only a
usable connection (connected, enabled) is reused: a rejected or disabled one is read again by each
transfer, so a token stored or a tenant enabled meanwhile reaches the batch at once. Offboarding deletes
the connection first and the ledger before the tenants table (adapters/dynamo_eraser.py): a transfer
that starts on a reused connection after its ledger rows are gone stops at its claim.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.ports import ConnectionStore

MAX_AGE_SECONDS = 10.0


@dataclass
class ReusedConnections:
    store: ConnectionStore
    max_age: float = MAX_AGE_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, str], tuple[float, Connection]] = field(default_factory=dict)
    # The batch's lanes run in threads: one read per tenant, not one per lane that starts at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, platform_id: str, tenant_id: str) -> Connection | None:
        with self._lock:
            seen = self._seen.get((platform_id, tenant_id))
            if seen is not None and self.monotonic() - seen[0] < self.max_age:
                return seen[1]
            connection = self.store.get(platform_id, tenant_id)
            # Only a usable connection is reused: a missing, disabled or rejected one is read again by the
            # next transfer, so a token stored or a tenant enabled meanwhile reaches it at once.
            if (
                connection is not None
                and connection.status is ConnectionStatus.CONNECTED
                and connection.settings.enabled
            ):
                self._seen[(platform_id, tenant_id)] = (self.monotonic(), connection)
            return connection

    def forget(self, platform_id: str, tenant_id: str) -> None:
        with self._lock:
            self._seen.pop((platform_id, tenant_id), None)
