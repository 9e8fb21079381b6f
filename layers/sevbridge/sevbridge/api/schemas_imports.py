"""Bodies of the imports and change-feed routes (M1–M5, M7)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import ConfigDict, Field, StrictBool

from sevbridge.common.model import Model
from sevbridge.domain.pull.records import Action, AnyRecord, Change, ConflictInfo, Flag, ImportKind
from sevbridge.domain.pull.runs import Counts, ImportRun, KindRun, Phase, RunState
from sevbridge.domain.pull.state import KindHealth, TenantImportState


class ImportRequest(Model):
    """Start an import now. Without `kinds`: the tenant's `import_kinds`; order confirmations (M3) are
    imported when asked for here, whatever the settings say."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[ImportKind] | None = Field(
        default=None, min_length=1, max_length=4, description="contacts · articles · order_confirmations · invoices"
    )
    full: StrictBool = Field(
        default=False,
        description="Reconciliation: read every record (not only what changed) and report records deleted in "
        "sevDesk as `deleted` changes.",
    )


class CountsView(Model):
    read: int = Field(description="Records sevDesk returned")
    created: int
    updated: int
    deleted: int
    unchanged: int
    flagged: int = Field(description="Changes that carry a flag (unassignable, duplicate_number, conflict, …)")

    @classmethod
    def of(cls, counts: Counts) -> Self:
        return cls(**counts.model_dump())


class ImportKindView(Model):
    kind: ImportKind
    full: StrictBool = Field(description="A reconciliation pass (reads everything, reports deletions)")
    phase: Phase = Field(description="pending · reading · reconciling · done · failed")
    counts: CountsView
    requests: int = Field(description="sevDesk API calls made for this kind")
    pages: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    problems: list[str] = Field(description="Records that could not be imported, and why (first 10)")

    @classmethod
    def of(cls, kind: KindRun) -> Self:
        return cls(
            kind=kind.kind,
            full=kind.full,
            phase=kind.phase,
            counts=CountsView.of(kind.counts),
            requests=kind.requests,
            pages=kind.pages,
            started_at=kind.started_at,
            finished_at=kind.finished_at,
            error=kind.error,
            problems=kind.problems,
        )


class ImportRunView(Model):
    run_id: str
    trigger: str = Field(description="schedule · manual")
    state: RunState = Field(description="queued · running · succeeded · failed · waiting_for_credentials")
    kinds: list[ImportKindView]
    counts: CountsView = Field(description="All kinds together")
    requests: int = Field(description="sevDesk API calls made")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    error: str | None

    @classmethod
    def of(cls, run: ImportRun) -> Self:
        return cls(
            run_id=run.run_id,
            trigger="schedule" if run.trigger == "schedule" else "manual",
            state=run.state,
            kinds=[ImportKindView.of(kind) for kind in run.kinds],
            counts=CountsView.of(run.counts),
            requests=run.requests,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_ms=run.duration_ms,
            error=run.error,
        )


class ImportRunList(Model):
    items: list[ImportRunView]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page")


class ChangeView(Model):
    id: str = Field(description="Stable id of this change")
    kind: ImportKind
    action: Action
    sevdesk_id: str
    source_id: str | None = Field(description="The platform's id, where sevbridge knows it (records it pushed)")
    flags: list[Flag]
    conflict: ConflictInfo | None = Field(description="Set with flag `conflict`: both sides' times and the winner")
    record: AnyRecord | None = Field(description="The record as mapped now; null for `deleted`")
    sevdesk_updated_at: datetime | None = Field(description="sevDesk's `update` time of this version")
    recorded_at: datetime
    run_id: str | None

    @classmethod
    def of(cls, change: Change) -> Self:
        return cls(
            id=change.change_id,
            kind=change.kind,
            action=change.action,
            sevdesk_id=change.sevdesk_id,
            source_id=change.source_id,
            flags=list(change.flags),
            conflict=change.conflict,
            record=change.record,
            sevdesk_updated_at=change.sevdesk_updated_at,
            recorded_at=change.recorded_at,
            run_id=change.run_id,
        )


class ChangePage(Model):
    items: list[ChangeView]
    next_cursor: str = Field(description="Pass as `after` next time, also when `items` is empty")
    has_more: bool = Field(description="More changes are waiting: read again right away")


class KindHealthView(Model):
    last_success_at: datetime | None = Field(description="When an import of this kind last completed")
    last_full_at: datetime | None = Field(description="Last full reconciliation (deletions)")
    watermark: datetime | None = Field(description="Changes in sevDesk up to about here are imported")
    last_error: str | None
    last_error_at: datetime | None

    @classmethod
    def of(cls, health: KindHealth) -> Self:
        return cls(**health.model_dump(exclude={"last_run_id"}))


class ImportsHealth(Model):
    kinds: dict[ImportKind, KindHealthView] = Field(description="Per kind imported so far")
    active_run_id: str | None = Field(description="The import in progress, if any")

    @classmethod
    def of(cls, state: TenantImportState) -> Self:
        return cls(
            kinds={kind: KindHealthView.of(health) for kind, health in state.kinds.items()},
            active_run_id=state.active_run_id,
        )
