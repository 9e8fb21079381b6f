"""What an operator sees of a platform's tenants (`sevbridge tenants list|show`): the connection
(status, token fingerprint — never the token —, health), import health and recent imports, and how
many transfers wait for attention. Read-only; composed from the connection, import and ledger use cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sevbridge.domain.connection import Connection
from sevbridge.domain.connections import ConnectionService
from sevbridge.domain.intake_models import TransferQuery
from sevbridge.domain.ledger import TransferStatus
from sevbridge.domain.pull.runs import ImportRun
from sevbridge.domain.pull.service import ImportService
from sevbridge.domain.pull.state import TenantImportState
from sevbridge.domain.transfer_ops import TransferOps

# Counted up to one page of the ledger query; more is shown as "200+".
COUNT_CAP = 200
ATTENTION = (TransferStatus.FAILED, TransferStatus.WAITING_FOR_CREDENTIALS, TransferStatus.QUEUED)


class ConnectionLister(Protocol):
    def list_for_platform(self, platform_id: str) -> list[Connection]: ...


@dataclass(frozen=True)
class TenantSummary:
    connection: Connection
    last_import: ImportRun | None


@dataclass(frozen=True)
class TransferCount:
    status: TransferStatus
    count: int
    more: bool  # at least `count`; the ledger holds more


@dataclass(frozen=True)
class TenantDetail:
    connection: Connection
    import_state: TenantImportState
    recent_imports: list[ImportRun]
    transfers: list[TransferCount]


@dataclass
class TenantOverview:
    lister: ConnectionLister
    connections: ConnectionService
    imports: ImportService
    transfers: TransferOps

    def list(self, platform_id: str) -> list[TenantSummary]:
        connections = sorted(self.lister.list_for_platform(platform_id), key=lambda c: c.tenant_id)
        return [TenantSummary(c, self._latest_run(platform_id, c.tenant_id)) for c in connections]

    def show(self, platform_id: str, tenant_id: str, *, recent: int = 5) -> TenantDetail:
        connection = self.connections.get(platform_id, tenant_id)  # NotFound for an unknown tenant
        runs = self.imports.list(platform_id, tenant_id, limit=recent, cursor=None).items
        counts = []
        for status in ATTENTION:
            page = self.transfers.list_transfers(platform_id, tenant_id, TransferQuery(status=status, limit=COUNT_CAP))
            counts.append(TransferCount(status, len(page.items), more=page.next_cursor is not None))
        return TenantDetail(connection, self.imports.health(platform_id, tenant_id), runs, counts)

    def _latest_run(self, platform_id: str, tenant_id: str) -> ImportRun | None:
        runs = self.imports.list(platform_id, tenant_id, limit=1, cursor=None).items
        return runs[0] if runs else None
