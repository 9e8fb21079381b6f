"""Import runs: one pull of a tenant's sevDesk account, per kind a pass with a checkpoint per page.

    queued ──> running ──> succeeded | failed
                  │  └──(Lambda about to time out: checkpoint, continue in a new message)──┘
                  └──> waiting_for_credentials ──(new token)──> running
    (a scheduled run that finds another run of the tenant in progress is dropped, not queued)

Per kind: pending → reading (page after page; `offset` is the next page) → reconciling (full passes:
records that vanished, verified one by one) → done | failed. The tenant's watermark of a kind moves
only when its pass is done (TenantImportState).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.pull.messages import Trigger
from sevbridge.domain.pull.records import ImportKind

MAX_PROBLEMS = 10
# Kinds run in this order: contacts first, so documents of new customers find them.
KIND_ORDER = (ImportKind.CONTACTS, ImportKind.ARTICLES, ImportKind.ORDER_CONFIRMATIONS, ImportKind.INVOICES)


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    WAITING_FOR_CREDENTIALS = "waiting_for_credentials"


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED})


class Phase(StrEnum):
    PENDING = "pending"
    READING = "reading"
    RECONCILING = "reconciling"
    DONE = "done"
    FAILED = "failed"


class Counts(Model):
    read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    flagged: int = 0

    def plus(self, other: Counts) -> Counts:
        return Counts(**{name: getattr(self, name) + getattr(other, name) for name in Counts.model_fields})

    @property
    def changes(self) -> int:
        """Changes written to the feed (each created, updated or deleted record is one)."""
        return self.created + self.updated + self.deleted


class KindRun(Model):
    kind: ImportKind
    full: bool = Field(description="Reads every record and reports deletions (reconciliation)")
    # The kind had no watermark: everything found is new to the platform, whatever an index left
    # behind says (an offboarded tenant's items written while its import was still running).
    first_pass: bool = False
    phase: Phase = Phase.PENDING
    since: datetime | None = Field(default=None, description="updateAfter of this pass (watermark − overlap)")
    offset: int = 0
    pages: int = 0
    overlap_ids: list[str] = Field(default_factory=list, description="Last rows of the previous page")
    rewinds: int = 0
    max_update: datetime | None = None
    counts: Counts = Field(default_factory=Counts)
    requests: int = 0
    problems: list[str] = Field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    cause: str | None = Field(default=None, description="Short code of `error`, e.g. sevdesk_refused")

    def note_problem(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


class IndexEntry(Model):
    """What sevbridge last reported (or deliberately did not report) about one sevDesk record."""

    model_config = {"frozen": True}

    kind: ImportKind
    sevdesk_id: str
    update: datetime | None = None
    record_hash: str
    run_id: str
    observed_at: datetime
    source_id: str | None = None
    # Contacts: what invoices need of their customer, so an invoice import need not ask sevDesk.
    email: str | None = None
    phone: str | None = None


class Intent(Model):
    """A chunk of changes being published (write-ahead): feed positions reserved, index updates to
    apply once they are published. A run found with an intent after a crash finishes or drops it."""

    writer: str
    kind: ImportKind
    seq_from: int
    seq_to: int
    index_puts: list[IndexEntry] = Field(default_factory=list)
    index_deletes: list[str] = Field(default_factory=list)
    counts: Counts = Field(default_factory=Counts)


class ImportRun(Model):
    run_id: str
    platform_id: str
    tenant_id: str
    trigger: Trigger
    state: RunState = RunState.QUEUED
    kinds: list[KindRun]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    handoffs: int = 0
    deferrals: int = 0
    # Failed attempts so far (pauses excluded): the run gives up at the runner's max_attempts.
    failures: int = 0
    revision: int = Field(default=0, description="Optimistic-concurrency counter; 0 = not stored yet")
    intent: Intent | None = None
    # The first change-feed position this run published: `changes.available` points just before it.
    first_seq: int | None = None

    @property
    def requests(self) -> int:
        return sum(k.requests for k in self.kinds)

    @property
    def counts(self) -> Counts:
        total = Counts()
        for kind in self.kinds:
            total = total.plus(kind.counts)
        return total

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None:
            return None
        end = self.finished_at or self.updated_at
        return max(0, int((end - self.started_at).total_seconds() * 1000))

    def kind_run(self, kind: ImportKind) -> KindRun:
        return next(k for k in self.kinds if k.kind is kind)

    def touched(self, now: datetime, **changes: object) -> Self:
        """Updates the run in place: a run is one object for the whole delivery (the store bumps its
        revision in place too), so no code path can save an outdated copy."""
        for name, value in {**changes, "updated_at": now}.items():
            setattr(self, name, value)
        return self


def plan_kinds(kinds: list[ImportKind], full: set[ImportKind]) -> list[KindRun]:
    wanted = set(kinds)
    return [KindRun(kind=kind, full=kind in full) for kind in KIND_ORDER if kind in wanted]


class RunPage(Model):
    items: list[ImportRun]
    next_cursor: str | None = None
