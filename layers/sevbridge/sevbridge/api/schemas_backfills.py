"""Bodies of the backfill routes (B1–B3, M6); the console and the CLI show the same view."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field

from sevbridge.common.model import Model
from sevbridge.domain.backfill.jobs import (
    MAX_PAGE,
    BackfillJob,
    Direction,
    Filters,
    ItemPage,
    ItemResult,
    ItemStatus,
    JobState,
    PushKind,
    progress,
)
from sevbridge.domain.events import InvoiceStatus
from sevbridge.domain.pull.records import ImportKind


class FiltersBody(Model):
    """Applied to the invoices sent: invoice date within [since, until] (inclusive), status among `statuses`."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(default=None, description="Earliest invoice date sent")
    until: date | None = Field(default=None, description="Latest invoice date sent")
    statuses: list[InvoiceStatus] | None = Field(
        default=None, min_length=1, max_length=3, description="draft · sent · paid"
    )

    def domain(self) -> Filters:
        return Filters(since=self.since, until=self.until, statuses=self.statuses)


class BackfillRequest(Model):
    """A push backfill sends documents the platform gives (inline pages or one uploaded NDJSON file); a
    pull backfill imports the whole history of `kinds` from sevDesk into the change feed."""

    model_config = ConfigDict(extra="forbid")

    direction: Direction = Field(description="push · pull")
    kind: PushKind | None = Field(default=None, description="push: contacts · invoices")
    kinds: list[ImportKind] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description="pull: contacts · articles · order_confirmations · invoices",
    )
    source: Literal["inline", "upload"] = Field(
        default="inline",
        description="push: `inline` = pages of up to 500 documents via POST …/items; `upload` = one NDJSON file "
        "PUT to the returned `upload_url` (large histories)",
    )
    filters: FiltersBody | None = None


class ItemsRequest(Model):
    """One page of documents. Each is one line of the backfill: `{"occurred_at": …, "data": {…}}`, where
    `data` is what an event of the backfill's kind carries and `occurred_at` its version."""

    model_config = ConfigDict(extra="forbid")

    documents: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_PAGE)


class CountersView(Model):
    done: int = Field(description="Documents transferred")
    failed: int = Field(description="Documents whose transfer failed (see …/items?status=failed)")
    skipped: int = Field(description="Already transferred with this version, or skipped by the push rules")
    invalid: int = Field(description="Lines that are not a valid document (field named in …/items)")
    filtered: int = Field(description="Left out by the filters")


class BackfillView(Model):
    backfill_id: str
    direction: Direction
    kind: PushKind | None
    kinds: list[ImportKind]
    source: str = Field(description="inline · upload · sevdesk")
    state: JobState = Field(description="created · running · cancelled · completed")
    outcome: str | None = Field(description="When finished: completed · completed_with_failures · cancelled")
    filters: FiltersBody
    total: int | None = Field(description="Documents in the backfill (push; known once every line was read)")
    processed: int = Field(description="Documents done so far (push: all counters; pull: records read)")
    counters: CountersView
    rate_per_second: float | None = Field(description="Documents per second since the start")
    eta_seconds: float | None = Field(description="Estimated seconds to go")
    pages: int = Field(description="Inline pages added (push, source inline)")
    import_id: str | None = Field(description="pull: the import run doing the work (GET …/imports/{id})")
    error: str | None
    upload_url: str | None = Field(
        default=None, description="source upload, before start: PUT the NDJSON file here (valid for an hour)"
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: BackfillJob, now: datetime, upload_url: str | None = None) -> Self:
        p = progress(job, now)
        return cls(
            backfill_id=job.job_id,
            direction=job.direction,
            kind=job.kind,
            kinds=job.kinds,
            source=job.source,
            state=job.state,
            outcome=job.outcome() if job.finished else None,
            filters=FiltersBody(**job.filters.model_dump()),
            total=job.total,
            processed=p.processed,
            counters=CountersView(**job.counters.model_dump()),
            rate_per_second=p.rate_per_second,
            eta_seconds=p.eta_seconds,
            pages=len(job.objects) if job.source == "inline" else 0,
            import_id=job.import_run_id,
            error=job.error,
            upload_url=upload_url,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class BackfillList(Model):
    items: list[BackfillView]
    next_cursor: str | None = None


class ItemView(Model):
    line: int = Field(description="Line of the document (inline: its position over all pages, from 1)")
    source_id: str | None
    status: ItemStatus = Field(description="failed · skipped · invalid")
    reason: str
    field: str | None = Field(description="invalid: the first bad field, e.g. data.positions.0.unit")
    transfer_id: str | None

    @classmethod
    def of(cls, item: ItemResult) -> Self:
        return cls(**item.model_dump())


class ItemList(Model):
    items: list[ItemView]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: ItemPage) -> Self:
        return cls(items=[ItemView.of(i) for i in page.items], next_cursor=page.next_cursor)
