"""Use cases of the backfills API and console: create, add inline pages, hand out the upload URL, start,
look at, list, cancel, resume and retry a job's failures. The work itself runs in the backfill worker."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sevbridge.domain.backfill.jobs import (
    MAX_PAGE,
    MAX_PAGES,
    BackfillJob,
    ChunkResult,
    Direction,
    Filters,
    ItemPage,
    ItemStatus,
    JobPage,
    JobState,
    PushKind,
    new_job_id,
)
from sevbridge.domain.backfill.ports import (
    BackfillQueue,
    BackfillStore,
    ChunkMessage,
    DocumentObjects,
    FollowMessage,
    SplitMessage,
)
from sevbridge.domain.connection import ConnectionStatus
from sevbridge.domain.connections import ConnectionService
from sevbridge.domain.errors import Conflict, InvalidInput, NotFound
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.notify.types import BackfillCompleted
from sevbridge.domain.ports import Clock
from sevbridge.domain.pull.records import ImportKind
from sevbridge.domain.pull.service import ImportService

UPLOAD_URL_SECONDS = 3600


@dataclass
class BackfillService:
    store: BackfillStore
    objects: DocumentObjects
    queue: BackfillQueue
    connections: ConnectionService
    clock: Clock
    imports: ImportService | None = None  # pull backfills
    notifier: Notifier | None = None

    # --- creating ------------------------------------------------------------------------------------
    def create(
        self,
        platform_id: str,
        tenant_id: str,
        *,
        direction: Direction,
        kind: PushKind | None = None,
        kinds: Sequence[ImportKind] = (),
        filters: Filters | None = None,
        source: str = "inline",
        object_key: str | None = None,
    ) -> BackfillJob:
        """`object_key` (operators): a push that reads an NDJSON object already in the backfill bucket."""
        self.connections.get(platform_id, tenant_id)  # 404 for an unknown tenant
        filters = filters or Filters()
        if direction is Direction.PUSH:
            if kind is None:
                raise InvalidInput("a push backfill needs `kind`", details=[{"field": "kind", "problem": "required"}])
            if kind is PushKind.CONTACTS and not filters.is_empty():
                raise InvalidInput(
                    "filters apply to invoices; a contacts backfill sends every contact given",
                    details=[{"field": "filters", "problem": "not allowed for contacts"}],
                )
            if source not in ("inline", "upload"):
                raise InvalidInput(
                    "`source` is inline or upload", details=[{"field": "source", "problem": "inline or upload"}]
                )
        else:
            if not kinds:
                raise InvalidInput("a pull backfill needs `kinds`", details=[{"field": "kinds", "problem": "required"}])
            if not filters.is_empty():
                raise InvalidInput(
                    "a pull backfill imports all history of its kinds; filter the change feed instead",
                    details=[{"field": "filters", "problem": "not allowed for pull"}],
                )
            source = "sevdesk"
        if filters.since and filters.until and filters.since > filters.until:
            raise InvalidInput(
                "`since` is after `until`", details=[{"field": "filters.since", "problem": "after until"}]
            )
        now = self.clock.now()
        job = BackfillJob(
            job_id=new_job_id(),
            platform_id=platform_id,
            tenant_id=tenant_id,
            direction=direction,
            kind=kind if direction is Direction.PUSH else None,
            kinds=list(dict.fromkeys(kinds)),
            filters=filters,
            source=source,  # type: ignore[arg-type]
            created_at=now,
            updated_at=now,
        )
        if source == "upload":
            job.objects = [object_key or self.objects.upload_key(job)]
        return self.store.create(job)

    def upload_url(self, job: BackfillJob) -> str | None:
        if job.source != "upload" or job.state is not JobState.CREATED:
            return None
        return self.objects.upload_url(job.objects[0], expires_in=UPLOAD_URL_SECONDS)

    def add_items(self, platform_id: str, tenant_id: str, job_id: str, documents: Sequence[Any]) -> BackfillJob:
        """Stores one inline page (≤ 500 documents) as an NDJSON object; checked line by line when it runs."""
        job = self.get(platform_id, tenant_id, job_id)
        if job.source != "inline":
            raise Conflict("this backfill reads an uploaded file; upload it to the `upload_url` instead")
        if job.state is not JobState.CREATED:
            raise Conflict(f"this backfill is {job.state.value}; add documents before `start`")
        if not 1 <= len(documents) <= MAX_PAGE:
            raise InvalidInput(
                f"send 1 to {MAX_PAGE} documents per page",
                details=[{"field": "documents", "problem": f"1 to {MAX_PAGE} items"}],
            )
        if len(job.objects) >= MAX_PAGES:
            raise Conflict(f"a backfill holds at most {MAX_PAGES} inline pages; upload larger histories as a file")
        key = self.objects.page_key(job, len(job.objects) + 1)
        lines = [json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode() for doc in documents]
        self.objects.put_page(key, lines)
        job.objects = [*job.objects, key]
        job.updated_at = self.clock.now()
        return self.store.save(job)

    # --- control -------------------------------------------------------------------------------------
    def start(self, platform_id: str, tenant_id: str, job_id: str) -> BackfillJob:
        job = self.get(platform_id, tenant_id, job_id)
        if job.state is JobState.RUNNING or job.finished:
            return job  # starting twice is harmless
        self._check_connection(platform_id, tenant_id)
        now = self.clock.now()
        if job.direction is Direction.PULL:
            return self._start_pull(job)
        if job.source == "upload" and not self.objects.exists(job.objects[0]):
            raise Conflict("nothing uploaded yet: PUT the NDJSON file to the job's `upload_url`, then start")
        if not job.objects:
            raise Conflict("no documents yet: add pages with POST …/items, then start")
        job.state, job.started_at, job.updated_at = JobState.RUNNING, now, now
        job = self.store.save(job)
        self._send_split(job)
        return job

    def cancel(self, platform_id: str, tenant_id: str, job_id: str) -> BackfillJob:
        """Chunks not started are dropped; the document in flight finishes (nothing is half-done)."""
        job = self.get(platform_id, tenant_id, job_id)
        if job.finished:
            return job
        now = self.clock.now()
        job.state, job.cancelled_at, job.finished_at, job.updated_at = JobState.CANCELLED, now, now, now
        return self.store.save(job, self._completed_notice(job))

    def resume(self, platform_id: str, tenant_id: str, job_id: str) -> BackfillJob:
        """Goes on with a cancelled job (or one whose messages were lost): the split runs again and every
        chunk not recorded yet is sent; recorded chunks are not done twice."""
        job = self.get(platform_id, tenant_id, job_id)
        if job.state is JobState.CREATED:
            raise Conflict("this backfill has not started; use start")
        if job.state is JobState.COMPLETED:
            raise Conflict("this backfill is completed; use retry-failed for its failures")
        self._check_connection(platform_id, tenant_id)
        if job.direction is Direction.PULL:
            return self._start_pull(job)
        now = self.clock.now()
        job.state, job.finished_at, job.cancelled_at, job.updated_at = JobState.RUNNING, None, None, now
        job.generation += 1
        job = self.store.save(job)
        self.store.expect_retries(job, 0)  # retries of earlier generations are dropped; the split resends
        self._send_split(job)
        return job

    def retry_failed(self, platform_id: str, tenant_id: str, job_id: str) -> BackfillJob:
        """Sends the chunks holding failed documents again; their failed transfers go back to the queue."""
        job = self.get(platform_id, tenant_id, job_id)
        if job.direction is Direction.PULL:
            raise Conflict("a pull backfill has no per-document failures; use resume")
        if job.state is JobState.CREATED:
            raise Conflict("this backfill has not started; use start")
        if job.state is JobState.RUNNING and not job.split_done:
            raise Conflict("this backfill is still being split; retry its failures when it has finished")
        self._check_connection(platform_id, tenant_id)
        chunks = self.store.chunks_with(platform_id, tenant_id, job_id, ItemStatus.FAILED)
        if not chunks:
            return job
        now = self.clock.now()
        job.state, job.finished_at, job.cancelled_at, job.updated_at = JobState.RUNNING, None, None, now
        job.generation += 1
        job = self.store.save(job)
        # The job finishes when every one of these chunks was recorded again, not at the first of them.
        self.store.expect_retries(job, len(chunks))
        messages = [self._retry_message(job, chunk) for chunk in chunks]
        self.queue.send(messages, dedup_ids=[f"{job.job_id}-g{job.generation}-r{m.seq}" for m in messages])
        return job

    # --- reading -------------------------------------------------------------------------------------
    def get(self, platform_id: str, tenant_id: str, job_id: str) -> BackfillJob:
        self.connections.get(platform_id, tenant_id)
        job = self.store.get(platform_id, tenant_id, job_id)
        if job is None:
            raise NotFound("this tenant has no such backfill")
        if job.direction is Direction.PULL and job.import_run_id and self.imports is not None:
            run = self.imports.store.get_run(platform_id, tenant_id, job.import_run_id)
            if run is not None:
                job.import_read = sum(k.counts.read for k in run.kinds)
        return job

    def list_jobs(self, platform_id: str, tenant_id: str, *, limit: int, cursor: str | None) -> JobPage:
        self.connections.get(platform_id, tenant_id)
        return self.store.list_jobs(platform_id, tenant_id, limit=limit, cursor=cursor)

    def items(
        self,
        platform_id: str,
        tenant_id: str,
        job_id: str,
        *,
        status: ItemStatus | None,
        limit: int,
        cursor: str | None,
    ) -> ItemPage:
        self.get(platform_id, tenant_id, job_id)
        return self.store.items(platform_id, tenant_id, job_id, status=status, limit=limit, cursor=cursor)

    # --- helpers -------------------------------------------------------------------------------------
    def _check_connection(self, platform_id: str, tenant_id: str) -> None:
        connection = self.connections.get(platform_id, tenant_id)
        if not connection.settings.enabled:
            raise Conflict("the integration is disabled for this tenant; enable it in the connection settings")
        if connection.status is ConnectionStatus.RECONNECT_REQUIRED:
            raise Conflict(
                "sevDesk rejected this tenant's token; store a new token (PUT …/connection) first",
                details=[{"field": "sevdesk_token", "reason": "invalid_token"}],
            )

    def _send_split(self, job: BackfillJob) -> None:
        message = SplitMessage(
            platform_id=job.platform_id, tenant_id=job.tenant_id, job_id=job.job_id, generation=job.generation
        )
        self.queue.send([message], dedup_ids=[f"{job.job_id}-g{job.generation}-split"])

    def _retry_message(self, job: BackfillJob, chunk: ChunkResult) -> ChunkMessage:
        return ChunkMessage(
            platform_id=job.platform_id,
            tenant_id=job.tenant_id,
            job_id=job.job_id,
            generation=job.generation,
            seq=chunk.seq,
            key=chunk.key,
            start=chunk.start,
            end=chunk.end,
            first_line=chunk.first_line,
            retry_failed=True,
        )

    def _start_pull(self, job: BackfillJob) -> BackfillJob:
        if self.imports is None:
            raise RuntimeError("BackfillService was built without the import service")
        run, _ = self.imports.start(job.platform_id, job.tenant_id, kinds=list(job.kinds), full=True)
        now = self.clock.now()
        job.state, job.import_run_id, job.updated_at = JobState.RUNNING, run.run_id, now
        job.started_at = job.started_at or now
        job.finished_at = job.cancelled_at = None
        job = self.store.save(job)
        follow = FollowMessage(platform_id=job.platform_id, tenant_id=job.tenant_id, job_id=job.job_id)
        self.queue.send([follow], dedup_ids=[f"{job.job_id}-follow-{run.run_id}"])
        return job

    def _completed_notice(self, job: BackfillJob) -> Any:
        if self.notifier is None:
            return None
        return self.notifier.backfill_completed(job.platform_id, job.tenant_id, completed_summary(job))


def completed_summary(job: BackfillJob) -> BackfillCompleted:
    c = job.counters
    push = job.direction is Direction.PUSH
    return BackfillCompleted(
        backfill_id=job.job_id,
        direction=job.direction.value,  # type: ignore[arg-type]
        status=job.outcome(),
        total=(job.total or 0) if push else job.import_read,
        succeeded=c.done if push else job.import_read,
        failed=c.failed + c.invalid,
        skipped=c.skipped + c.filtered,
        started_at=job.started_at or job.created_at,
        finished_at=job.finished_at or job.updated_at,
    )
