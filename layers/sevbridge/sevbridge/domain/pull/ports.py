"""What the pull domain needs from sevDesk, storage and the platform side, as Protocols.

sevDesk answers reach the domain in their live wire shape (dicts with strings and nulls): the mapping
rules in map_*.py are the only place that interprets them. Errors are sevbridge.domain.sevdesk_errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sevbridge.domain.errors import Gone
from sevbridge.domain.notify.notices import NO_NOTICES, Notices
from sevbridge.domain.pull.records import Change, ChangeDraft, ImportKind
from sevbridge.domain.pull.runs import ImportRun, IndexEntry, RunPage
from sevbridge.domain.pull.state import TenantImportState

Row = Mapping[str, Any]


class SevdeskReader(Protocol):
    """One tenant's sevDesk, read for imports. `requests` counts the calls made so far."""

    requests: int

    def page(self, kind: ImportKind, *, since: datetime | None, offset: int, limit: int) -> list[Row]:
        """One limit/offset page of a kind's list, oldest id first; `since` → updateAfter."""
        ...

    def fetch(self, kind: ImportKind, sevdesk_id: str) -> Row | None:
        """One record by id with the list's embeds; None when sevDesk says it does not exist."""
        ...

    def order_positions(self, order_id: str) -> list[Row]: ...
    def communication_ways(self, contact_id: str) -> list[Row]: ...
    def contact_addresses(self, contact_id: str) -> list[Row]: ...
    def cancellations(self, contact_id: str | None) -> list[Row]:
        """Cancellation documents (SR) of a contact (of the account, without one); re-check `origin`."""
        ...

    def category_name(self, category_id: str) -> str | None: ...


@dataclass(frozen=True)
class Reservation:
    """Feed positions held for one writer until `until`; nothing is visible before `commit`."""

    writer: str
    seq_from: int
    seq_to: int
    lease_until_ms: int = 0  # the writer's lease expiry (epoch ms); its items carry it


@dataclass(frozen=True)
class FeedPage:
    items: list[Change]
    cursor: str  # where the next read continues (also when `items` is empty)
    has_more: bool


class ChangeFeed(Protocol):
    """A tenant's changes in commit order. Writers (imports, later backfills) take turns through a lease
    on the feed's head: positions are reserved, the items written, then published together by moving
    the head's high-water mark. Readers never see beyond it, so a change that commits late can never be
    skipped by a cursor that has already moved on."""

    def reserve(self, platform_id: str, tenant_id: str, writer: str, count: int) -> Reservation:
        """Waits for the lease (raises TemporarilyUnavailable if it stays taken)."""
        ...

    def commit(self, platform_id: str, tenant_id: str, reservation: Reservation, drafts: Sequence[ChangeDraft]) -> None:
        """Writes and publishes; raises LeaseLost if another writer took over meanwhile."""
        ...

    def release(self, platform_id: str, tenant_id: str, reservation: Reservation) -> None:
        """Gives an unpublished reservation up: its items go, its lease is freed (if still held)."""
        ...

    def is_published(self, platform_id: str, tenant_id: str, reservation: Reservation) -> bool: ...

    def cursor_before(self, platform_id: str, tenant_id: str, seq: int) -> str:
        """A cursor (`after`) from which a read returns the change at position `seq` first."""
        ...

    def read(
        self, platform_id: str, tenant_id: str, *, after: str | None, kind: ImportKind | None, limit: int
    ) -> FeedPage: ...


class LeaseLost(Exception):
    """Another writer took the feed's lease while this one was writing: nothing of it was published."""


class CursorExpired(Gone):
    """Changes after this cursor are no longer kept (retention), or the feed was reset (offboarding)."""

    code = "cursor_expired"


class ImportStore(Protocol):
    """Runs, the tenant's import state, the per-kind index and full-pass bookkeeping (Jobs table)."""

    def create_run(self, run: ImportRun) -> ImportRun:
        """Stores a new run; if one with that id exists already, returns it unchanged."""
        ...

    def get_run(self, platform_id: str, tenant_id: str, run_id: str) -> ImportRun | None: ...
    def save_run(self, run: ImportRun) -> ImportRun:
        """Conditional on the revision read; raises ConcurrentUpdate otherwise. Bumps `run.revision`
        in place and returns the same object."""
        ...

    def list_runs(self, platform_id: str, tenant_id: str, *, limit: int, cursor: str | None) -> RunPage: ...
    def get_state(self, platform_id: str, tenant_id: str) -> TenantImportState: ...
    def save_state(self, state: TenantImportState) -> TenantImportState:
        """Conditional on the revision read; raises ConcurrentUpdate otherwise."""
        ...

    def finish(
        self, run: ImportRun, state: TenantImportState, notices: Notices = NO_NOTICES
    ) -> tuple[ImportRun, TenantImportState, bool]:
        """A run's final state, the tenant's state after it and the notifications about the run, in one
        DynamoDB transaction (never "finished but nobody was told"); True if notices were written. When a
        notice's guard was won by another writer (import.failed at most once a day), the states are
        written without the notices."""
        ...

    def index_get(
        self, platform_id: str, tenant_id: str, kind: ImportKind, ids: Sequence[str]
    ) -> dict[str, IndexEntry]: ...
    def index_all(self, platform_id: str, tenant_id: str, kind: ImportKind) -> dict[str, IndexEntry]: ...
    def index_apply(
        self, platform_id: str, tenant_id: str, puts: Sequence[IndexEntry], deletes: Sequence[tuple[ImportKind, str]]
    ) -> None: ...
    def add_seen(self, run: ImportRun, kind: ImportKind, page: int, ids: Sequence[str]) -> None:
        """Ids read by a full pass, one item per page (idempotent)."""
        ...

    def seen(self, run: ImportRun, kind: ImportKind) -> set[str]: ...


@dataclass(frozen=True)
class PushedContact:
    source_id: str
    version: datetime | None  # newest platform version applied
    echo_hash: str | None  # the contact as the import would map it, from what sevbridge pushed
    echo_at: datetime | None  # when sevbridge last wrote it to sevDesk


@dataclass(frozen=True)
class PushedInvoice:
    source_id: str
    sevdesk_id: str | None
    number: str | None
    status: int | None  # the sevDesk status sevbridge's push reached


class PlatformSide(Protocol):
    """What sevbridge knows from the push direction (mapping rows, pending transfers) for one tenant."""

    def pushed_contacts(self) -> Mapping[str, PushedContact]:
        """By sevDesk id."""
        ...

    def pushed_invoices(self) -> Sequence[PushedInvoice]: ...

    def pending_contact_versions(self) -> Mapping[str, datetime]:
        """By source id: the newest platform version of a contact not yet applied to sevDesk (queued
        or parked contact, invoice or project transfers carrying it)."""
        ...
