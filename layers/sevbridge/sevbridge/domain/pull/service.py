"""Use cases of the imports API: start a run now (M3, reconciliation on demand), read runs, read the
change feed, and resume a parked run when a new token is stored (C3)."""

from __future__ import annotations

from dataclasses import dataclass

from sevbridge.domain.connection import ConnectionStatus
from sevbridge.domain.connections import ConnectionService
from sevbridge.domain.errors import Conflict, InvalidInput, NotFound, TemporarilyUnavailable
from sevbridge.domain.ports import Clock, ParkedWork
from sevbridge.domain.pull.messages import ImportMessage, new_run_id
from sevbridge.domain.pull.ports import ChangeFeed, FeedPage, ImportStore
from sevbridge.domain.pull.records import ImportKind
from sevbridge.domain.pull.runs import ImportRun, RunPage, RunState, plan_kinds
from sevbridge.domain.pull.scheduling import ImportQueue
from sevbridge.domain.pull.state import TenantImportState

RECENT_RUNS = 20  # looked at to merge a repeated request into a run that has not started yet


class ReconnectRequired(Conflict):
    code = "reconnect_required"


@dataclass
class ImportService:
    store: ImportStore
    feed: ChangeFeed
    queue: ImportQueue
    connections: ConnectionService
    clock: Clock

    def start(
        self, platform_id: str, tenant_id: str, *, kinds: list[ImportKind] | None, full: bool
    ) -> tuple[ImportRun, bool]:
        """(run, created). Without `kinds`, the tenant's configured ones. A request that an import still
        waiting to start already covers returns that one (an impatient import button starts one run)."""
        connection = self.connections.get(platform_id, tenant_id)
        if not connection.settings.enabled:
            raise Conflict("the integration is disabled for this tenant; enable it in the connection settings")
        if connection.status is ConnectionStatus.RECONNECT_REQUIRED:
            raise ReconnectRequired(
                "sevDesk rejected this tenant's token; store a new token (PUT …/connection) and import again",
                details=[{"field": "sevdesk_token", "reason": "invalid_token"}],
            )
        wanted = list(dict.fromkeys(kinds if kinds is not None else connection.settings.import_kinds))
        if not wanted:
            raise InvalidInput(
                "nothing to import: the tenant has no import_kinds configured; pass `kinds`",
                details=[{"field": "kinds", "problem": "required when the tenant imports no kinds by default"}],
            )
        for run in self.store.list_runs(platform_id, tenant_id, limit=RECENT_RUNS, cursor=None).items:
            covered = {k.kind for k in run.kinds if k.full or not full}
            if run.state is RunState.QUEUED and run.trigger == "manual" and set(wanted) <= covered:
                return run, False
        now = self.clock.now()
        run = ImportRun(
            run_id=new_run_id(),
            platform_id=platform_id,
            tenant_id=tenant_id,
            trigger="manual",
            kinds=plan_kinds(wanted, set(wanted) if full else set()),
            created_at=now,
            updated_at=now,
        )
        run = self.store.create_run(run)
        try:
            self.queue.send(
                ImportMessage(
                    platform_id=platform_id,
                    tenant_id=tenant_id,
                    run_id=run.run_id,
                    trigger="manual",
                    dedup_id=run.run_id,
                )
            )
        except TemporarilyUnavailable:
            self.store.save_run(
                run.touched(self.clock.now(), state=RunState.FAILED, error="could not be queued", finished_at=now)
            )
            raise
        return run, True

    def get(self, platform_id: str, tenant_id: str, run_id: str) -> ImportRun:
        self.connections.get(platform_id, tenant_id)
        run = self.store.get_run(platform_id, tenant_id, run_id)
        if run is None:
            raise NotFound(f"import '{run_id}' not found for tenant '{tenant_id}'")
        return run

    def list(self, platform_id: str, tenant_id: str, *, limit: int, cursor: str | None) -> RunPage:
        self.connections.get(platform_id, tenant_id)
        return self.store.list_runs(platform_id, tenant_id, limit=limit, cursor=cursor)

    def changes(
        self, platform_id: str, tenant_id: str, *, after: str | None, kind: ImportKind | None, limit: int
    ) -> FeedPage:
        self.connections.get(platform_id, tenant_id)
        return self.feed.read(platform_id, tenant_id, after=after, kind=kind, limit=limit)

    def health(self, platform_id: str, tenant_id: str) -> TenantImportState:
        return self.store.get_state(platform_id, tenant_id)


@dataclass
class ParkedImports:
    """ParkedWork for imports: runs parked by a 401 go on, oldest first, when a new token is stored."""

    store: ImportStore
    queue: ImportQueue

    def resume(self, platform_id: str, tenant_id: str) -> int:
        recent = self.store.list_runs(platform_id, tenant_id, limit=RECENT_RUNS, cursor=None).items
        parked = [run for run in reversed(recent) if run.state is RunState.WAITING_FOR_CREDENTIALS]
        for run in parked:
            self.queue.send(
                ImportMessage(
                    platform_id=platform_id,
                    tenant_id=tenant_id,
                    run_id=run.run_id,
                    trigger="resume",
                    dedup_id=f"{run.run_id}.resume.{run.updated_at.timestamp():.0f}",
                )
            )
        return len(parked)


@dataclass
class ParkedTransfersAndImports:
    """What ConnectionService resumes when a working token is stored: transfers (whose count the API
    reports as `resumed_transfers`) and imports."""

    transfers: ParkedWork
    imports: ParkedImports

    def resume(self, platform_id: str, tenant_id: str) -> int:
        resumed = self.transfers.resume(platform_id, tenant_id)
        self.imports.resume(platform_id, tenant_id)
        return resumed
