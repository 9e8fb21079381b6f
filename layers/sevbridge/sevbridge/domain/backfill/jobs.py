"""A backfill job, its filters, its counters and the per-document results worth keeping.

Push jobs read their documents from NDJSON objects (inline pages or one uploaded file), split them into
chunks of lines and run each chunk through the normal intake → ledger → transfer runner path. Counters
move once per chunk (ADD of the chunk's tallies), never per document; only documents that did not end
`transferred` keep a result row entry (failed, skipped, invalid), packed per chunk.
"""

from __future__ import annotations

import secrets
import time
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.events import InvoiceStatus
from sevbridge.domain.pull.records import ImportKind

MAX_PAGE = 500  # documents per inline page (POST …/backfills/{id}/items)
MAX_PAGES = 1000  # inline pages per job; larger histories use an upload
CHUNK_LINES = 50  # documents per chunk message: one chunk finishes well inside one invocation


class Direction(StrEnum):
    PUSH = "push"
    PULL = "pull"


class PushKind(StrEnum):
    CONTACTS = "contacts"
    INVOICES = "invoices"


class JobState(StrEnum):
    CREATED = "created"  # accepting inline pages / waiting for the upload; nothing runs yet
    RUNNING = "running"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class ItemStatus(StrEnum):
    FAILED = "failed"  # the transfer failed (reason kept)
    SKIPPED = "skipped"  # already transferred with this version, or skipped by the push rules
    INVALID = "invalid"  # the line is not a valid document (field named)


class Filters(Model):
    """Applied to what is sent (invoices): invoice date within [since, until], status among `statuses`."""

    since: date | None = None
    until: date | None = None
    statuses: list[InvoiceStatus] | None = None

    def is_empty(self) -> bool:
        return self.since is None and self.until is None and not self.statuses

    def excludes(self, invoice_date: date, status: InvoiceStatus) -> str | None:
        if self.since and invoice_date < self.since:
            return "invoice date before the backfill's `since`"
        if self.until and invoice_date > self.until:
            return "invoice date after the backfill's `until`"
        if self.statuses and status not in self.statuses:
            return "status not among the backfill's `statuses`"
        return None


class Counters(Model):
    """Per-document tallies; `done` = transferred. `filtered` documents were left out by the filters."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    invalid: int = 0
    filtered: int = 0

    def minus(self, other: Counters) -> Counters:
        return Counters(**{k: getattr(self, k) - getattr(other, k) for k in Counters.model_fields})

    def processed(self) -> int:
        return self.done + self.failed + self.skipped + self.invalid + self.filtered

    def is_zero(self) -> bool:
        return self.processed() == 0


class BackfillJob(Model):
    job_id: str
    platform_id: str
    tenant_id: str
    direction: Direction
    kind: PushKind | None = None  # push
    kinds: list[ImportKind] = Field(default_factory=list)  # pull
    filters: Filters = Field(default_factory=Filters)
    source: Literal["inline", "upload", "sevdesk"]
    state: JobState = JobState.CREATED
    objects: list[str] = Field(default_factory=list)  # NDJSON object keys, read in this order
    generation: int = 0  # bumped by resume and retry-failed; part of the chunk messages' dedup ids
    total: int | None = None  # documents (lines); known once the split has read every object
    chunks: int | None = None  # known once the split finished
    split_done: bool = False
    chunks_done: int = 0
    retries_left: int = 0  # retry-failed chunks of this generation not recorded yet
    counters: Counters = Field(default_factory=Counters)
    import_run_id: str | None = None  # pull
    import_read: int = 0  # pull: records read by the import run (copied when the job is looked at)
    error: str | None = None  # pull: why the import run failed
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancelled_at: datetime | None = None
    updated_at: datetime
    revision: int = 0

    @property
    def finished(self) -> bool:
        return self.state in (JobState.COMPLETED, JobState.CANCELLED)

    def outcome(self) -> Literal["completed", "completed_with_failures", "cancelled"]:
        if self.state is JobState.CANCELLED:
            return "cancelled"
        failures = self.counters.failed or self.counters.invalid or self.error
        return "completed_with_failures" if failures else "completed"


class Progress(Model):
    processed: int
    rate_per_second: float | None
    eta_seconds: float | None


def progress(job: BackfillJob, now: datetime) -> Progress:
    """Rate since the start; ETA from the documents still to go (unknown until the total is)."""
    processed = job.counters.processed() if job.direction is Direction.PUSH else job.import_read
    if job.started_at is None or processed == 0:
        return Progress(processed=processed, rate_per_second=None, eta_seconds=None)
    end = job.finished_at or now
    elapsed = max((end - job.started_at).total_seconds(), 0.001)
    rate = processed / elapsed
    eta: float | None = None
    if job.finished:
        eta = 0.0
    elif job.total is not None and job.state is JobState.RUNNING:
        eta = max(job.total - processed, 0) / rate
    return Progress(
        processed=processed, rate_per_second=round(rate, 2), eta_seconds=None if eta is None else round(eta)
    )


class ItemResult(Model):
    line: int
    source_id: str | None = None
    status: ItemStatus
    reason: str
    field: str | None = None  # invalid lines: the first bad field
    transfer_id: str | None = None


class ChunkResult(Model):
    """What one chunk came to: its tallies (what the job's counters hold for it) and the lines that did
    not end transferred."""

    seq: int
    first_line: int
    key: str  # where its lines are: bytes [start, end) of this object (retry-failed sends it again)
    start: int
    end: int
    counters: Counters = Field(default_factory=Counters)
    items: list[ItemResult] = Field(default_factory=list)
    generation: int = 0  # of the message that recorded it: a retry-failed chunk is recorded once per retry
    revision: int = 0


class ItemPage(Model):
    items: list[ItemResult]
    next_cursor: str | None = None


class JobPage(Model):
    items: list[BackfillJob]
    next_cursor: str | None = None


def new_job_id() -> str:
    # Sorts by creation (listing newest first is a reverse key order), unguessable suffix.
    return f"bf_{int(time.time() * 1000):013x}{secrets.token_hex(6)}"


JOB_RETENTION = timedelta(days=90)
