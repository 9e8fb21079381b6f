"""What the backfill domain needs from the outside: the job store, the document objects, the queue and
the push mappings (to skip what was already transferred with the same version)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Literal, Protocol

from sevbridge.common.model import Model
from sevbridge.domain.backfill.jobs import BackfillJob, ChunkResult, Counters, ItemPage, ItemStatus, JobPage
from sevbridge.domain.notify.notices import Notices


class SplitMessage(Model):
    """Read the job's objects from this position on and send one ChunkMessage per CHUNK_LINES lines."""

    type: Literal["split"] = "split"
    platform_id: str
    tenant_id: str
    job_id: str
    generation: int
    object_index: int = 0
    offset: int = 0  # byte offset in that object
    line: int = 0  # lines before this position, over all objects (blank ones count: line numbers)
    documents: int = 0  # non-blank lines before this position
    seq: int = 0  # chunks sent before this position


class ChunkMessage(Model):
    """Lines [first_line, first_line + count) of the job, bytes [start, end) of one object."""

    type: Literal["chunk"] = "chunk"
    platform_id: str
    tenant_id: str
    job_id: str
    generation: int
    seq: int
    key: str
    start: int
    end: int
    first_line: int
    retry_failed: bool = False


class FollowMessage(Model):
    """Pull backfills: look at the import run; finish the job when it has ended, else come back later."""

    type: Literal["follow"] = "follow"
    platform_id: str
    tenant_id: str
    job_id: str


BackfillMessage = SplitMessage | ChunkMessage | FollowMessage


class BackfillStore(Protocol):
    def create(self, job: BackfillJob) -> BackfillJob: ...
    def get(self, platform_id: str, tenant_id: str, job_id: str) -> BackfillJob | None: ...
    def list_jobs(self, platform_id: str, tenant_id: str, *, limit: int, cursor: str | None) -> JobPage: ...
    def save(self, job: BackfillJob, notices: Notices | None = None) -> BackfillJob:
        """Writes if nobody else wrote since `job` was read (its `revision`), with `notices` in the same
        transaction; raises ConcurrentUpdate otherwise. Counters are not written here (see add_chunk)."""
        ...

    def split_progress(self, job: BackfillJob, *, total: int, chunks: int | None) -> None:
        """Records how many lines the split has read (and, when it is done, how many chunks it sent)."""
        ...

    def expect_retries(self, job: BackfillJob, chunks: int) -> None:
        """Sets how many retry-failed chunks must be recorded before the job can finish (0: none)."""
        ...

    def get_chunk(self, platform_id: str, tenant_id: str, job_id: str, seq: int) -> ChunkResult | None: ...
    def record_chunk(self, job: BackfillJob, chunk: ChunkResult, previous: ChunkResult | None) -> bool:
        """Stores the chunk's result and adds (chunk − previous) to the job's counters in one transaction
        (a chunk recorded again, by retry-failed, also counts down the job's `retries_left`); False when
        another delivery recorded this chunk first (nothing written)."""
        ...

    def chunks_with(self, platform_id: str, tenant_id: str, job_id: str, status: ItemStatus) -> list[ChunkResult]: ...
    def items(
        self,
        platform_id: str,
        tenant_id: str,
        job_id: str,
        *,
        status: ItemStatus | None,
        limit: int,
        cursor: str | None,
    ) -> ItemPage: ...


class DocumentObjects(Protocol):
    """NDJSON objects of a job (inline pages, an upload); keys are made by the adapter."""

    def page_key(self, job: BackfillJob, page: int) -> str: ...
    def upload_key(self, job: BackfillJob) -> str: ...
    def put_page(self, key: str, lines: Sequence[bytes]) -> None: ...
    def upload_url(self, key: str, *, expires_in: int) -> str: ...
    def exists(self, key: str) -> bool: ...
    def lines(self, key: str, *, start: int, end: int | None = None) -> Iterator[tuple[int, int, bytes]]:
        """(start offset, end offset, line without its newline) from byte `start` on (to `end`)."""
        ...


class BackfillQueue(Protocol):
    def send(self, messages: Sequence[BackfillMessage], *, dedup_ids: Sequence[str]) -> None:
        """In the tenant's FIFO group, in order; raises TemporarilyUnavailable when it could not."""
        ...


class AppliedVersions(Protocol):
    def applied(self, platform_id: str, tenant_id: str, kind: str, source_ids: Sequence[str]) -> dict[str, datetime]:
        """source id → the newest version fully transferred to sevDesk (documents never sent are absent)."""
        ...


__all__ = ["Counters"]
