"""Runs one import message: claim the tenant, then per kind read page after page, compare with the
index, publish what changed, checkpoint; reconcile deletions on full passes; finish.

One import of a tenant at a time: its messages share a FIFO group, and the tenant's import state names
the active run. A run that is about to run out of Lambda time checkpoints and continues in a new
message (`continue`); a transient sevDesk or AWS problem checkpoints and lets SQS deliver the message
again; a 401 parks the run until a new token is stored (C3), and the connection's flip to
`reconnect_required` notifies the platform (once per token).

The platform is told how a run ended (M5) in the same transaction as the run's final state:
`import.completed` (only with changes, unless the tenant's `webhook_unchanged_imports`), `import.failed`
(at most once per 24 h per tenant and cause, the notifier's guard) and `changes.available` with the
cursor to read the run's changes from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.connections import ConnectionService
from sevbridge.domain.errors import ConcurrentUpdate, DomainError, TemporarilyUnavailable
from sevbridge.domain.notify import types as notify_types
from sevbridge.domain.notify.notices import NO_NOTICES, Notices
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.ports import Clock, TokenVault
from sevbridge.domain.pull.kinds import (
    PAGE_SIZES,
    ArticleHandler,
    Candidate,
    ContactHandler,
    ContactIndex,
    InvoiceHandler,
    KindHandler,
    OrderHandler,
    PlatformLookups,
)
from sevbridge.domain.pull.markers_lookup import marker_scope
from sevbridge.domain.pull.messages import ImportMessage, Trigger
from sevbridge.domain.pull.ports import ChangeFeed, ImportStore, PlatformSide, Row, SevdeskReader
from sevbridge.domain.pull.publisher import CHUNK, Chunk, Publisher
from sevbridge.domain.pull.records import Action, ChangeDraft, Flag, ImportKind, record_hash
from sevbridge.domain.pull.runs import (
    TERMINAL,
    Counts,
    ImportRun,
    IndexEntry,
    KindRun,
    Phase,
    RunState,
    plan_kinds,
)
from sevbridge.domain.pull.scheduling import ImportQueue
from sevbridge.domain.pull.state import OVERLAP, TenantImportState
from sevbridge.domain.pull.wire import moment, ref_id
from sevbridge.domain.sevdesk_errors import SevdeskAuthError, SevdeskBrakeEngaged, SevdeskError, SevdeskRateLimited

# Consecutive pages overlap by this share of a page: a record deleted in sevDesk while the pages are
# walked shifts the rest left, and the overlap reads the shifted rows instead of skipping them. When
# even the overlap moved out of the next page (more deletions than it covers), the walk steps back
# (at most MAX_REWINDS times a pass; a full reconciliation verifies every id anyway).
OVERLAP_SHARE = 10
MAX_REWINDS = 3
# A run that made no progress for this long lost its messages (SQS gave up): another run may take over.
STALE_AFTER = timedelta(hours=3)
# Causes of a failed import (`import.failed`: at most one notice a day per cause) and whether imports go
# on by themselves once it is gone (the schedule keeps trying) or someone must act.
RETRYABLE_CAUSES = {
    "sevdesk_unavailable": True,
    "too_many_sevdesk_errors": True,  # our brake paused calls to protect the token
    "temporarily_unavailable": True,
    "internal_error": True,
    "sevdesk_paging_stuck": True,
    "sevdesk_refused": False,
}

ReaderFactory = Callable[[Connection, str], SevdeskReader]
PlatformSideFactory = Callable[[str, str], PlatformSide]


class HandBack(Exception):
    """Not enough time left in this invocation: continue in a new message."""


class RetryImportLater(Exception):
    """Transient failure or pause; the checkpoint is saved and SQS delivers the message again after
    `delay_seconds` (the worker sets the message's visibility to it)."""

    def __init__(self, reason: str, *, delay_seconds: int) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds


# Backoff between failed attempts of a run: 1, 2, 4… minutes, at most 15.
RETRY_DELAY_SECONDS = 60
MAX_RETRY_DELAY_SECONDS = 900


def retry_delay(failures: int) -> int:
    return min(MAX_RETRY_DELAY_SECONDS, RETRY_DELAY_SECONDS << max(0, failures - 1))


class PagingStuck(DomainError):
    code = "sevdesk_paging_stuck"


@dataclass
class ImportRunner:
    store: ImportStore
    feed: ChangeFeed
    connections: ConnectionService
    vault: TokenVault
    reader_factory: ReaderFactory
    platform_side_factory: PlatformSideFactory
    queue: ImportQueue
    clock: Clock
    time_scale: float = 1.0
    # Failed attempts before a run gives up. Pauses (our brake, sevDesk's Retry-After) delay a run but
    # are not attempts; SQS's own receive limit (the DLQ) sits far above this as a backstop.
    max_attempts: int = 5
    max_receives: int = 5
    notifier: Notifier | None = None

    @property
    def publisher(self) -> Publisher:
        return Publisher(self.store, self.feed)

    # -- entry point ---------------------------------------------------------------------------

    def handle(
        self, message: ImportMessage, *, receive_count: int = 1, should_stop: Callable[[], bool] = lambda: False
    ) -> ImportRun | None:
        p, t = message.platform_id, message.tenant_id
        connection = self.connections.store.get(p, t)
        if connection is None:
            return None  # offboarded: everything the tenant had is gone
        run = self.store.get_run(p, t, message.run_id)
        if run is not None and run.state in TERMINAL:
            return run  # a redelivery of finished work
        if run is None and message.trigger != "schedule":
            return None  # the run was erased with its tenant
        state = self.store.get_state(p, t)
        if run is None:
            if not connection.settings.enabled or not connection.settings.import_kinds:
                return None
            if connection.status is ConnectionStatus.RECONNECT_REQUIRED:
                return None  # a new token brings the tenant back on the schedule
            run = self._scheduled_run(message, connection, state)
        if not connection.settings.enabled:
            # The platform switched the tenant off itself: nothing to tell it.
            return self._finish(
                run, state, error="the integration is disabled for this tenant", cause="integration_disabled"
            )
        if connection.status is ConnectionStatus.RECONNECT_REQUIRED:
            return self._park(run, "waiting for a new sevDesk token")
        claimed = self._claim(message, run, state)
        if claimed is None:
            return None
        run, state = claimed
        return self._process(run, state, connection, receive_count, should_stop)

    # -- one tenant, one run at a time -----------------------------------------------------------

    def _scheduled_run(self, message: ImportMessage, connection: Connection, state: TenantImportState) -> ImportRun:
        now = self.clock.now()
        every = timedelta(hours=connection.settings.import_reconcile_hours) * self.time_scale
        kinds = list(connection.settings.import_kinds)
        full = {kind for kind in kinds if state.reconcile_due(kind, now, every)}
        return ImportRun(
            run_id=message.run_id,
            platform_id=message.platform_id,
            tenant_id=message.tenant_id,
            trigger="schedule",
            kinds=plan_kinds(kinds, full),
            created_at=now,
            updated_at=now,
        )

    def _claim(
        self, message: ImportMessage, run: ImportRun, state: TenantImportState
    ) -> tuple[ImportRun, TenantImportState] | None:
        now = self.clock.now()
        active = state.active_run_id
        if active is not None and active != run.run_id:
            other = self.store.get_run(run.platform_id, run.tenant_id, active)
            if other is not None and other.state not in TERMINAL:
                if other.state is RunState.WAITING_FOR_CREDENTIALS:
                    # Connected again (checked by the caller): the parked run goes first.
                    self._send(other, "resume", f"{other.run_id}.r{now.timestamp():.0f}")
                    self._defer(message, run)
                    return None
                if now - other.updated_at < STALE_AFTER:
                    self._defer(message, run)
                    return None
                other.state, other.error = RunState.FAILED, "stopped making progress (its messages were lost)"
                self.store.save_run(other.touched(now, finished_at=now))
        if run.revision == 0:
            run = self.store.create_run(run)
        if state.active_run_id != run.run_id:
            state.active_run_id = run.run_id
            try:
                state = self.store.save_state(state)
            except ConcurrentUpdate:
                raise RetryImportLater(
                    "the tenant's import state changed meanwhile", delay_seconds=min(5, RETRY_DELAY_SECONDS)
                ) from None
        return run, state

    def _defer(self, message: ImportMessage, run: ImportRun) -> None:
        """Another run of the tenant is in progress: a scheduled one is dropped (the active run brings
        everything up to date), any other waits behind it in the tenant's FIFO group."""
        if message.trigger == "schedule":
            return
        run.deferrals += 1
        run = self.store.save_run(run.touched(self.clock.now()))
        self._send(run, message.trigger, f"{run.run_id}.d{run.deferrals}")

    def _send(self, run: ImportRun, trigger: Trigger, dedup_id: str) -> None:
        self.queue.send(
            ImportMessage(
                platform_id=run.platform_id,
                tenant_id=run.tenant_id,
                run_id=run.run_id,
                trigger=trigger,
                dedup_id=dedup_id,
            )
        )

    # -- the run ----------------------------------------------------------------------------------

    def _process(
        self,
        run: ImportRun,
        state: TenantImportState,
        connection: Connection,
        receive_count: int,
        should_stop: Callable[[], bool],
    ) -> ImportRun:
        run = self.publisher.recover(run)
        now = self.clock.now()
        if run.state is not RunState.RUNNING:
            run = self.store.save_run(
                run.touched(now, state=RunState.RUNNING, started_at=run.started_at or now, error=None)
            )
        token = self.vault.open(connection.token_ciphertext, platform_id=run.platform_id, tenant_id=run.tenant_id)
        reader = self.reader_factory(connection, token)
        lookups = PlatformLookups(
            self.platform_side_factory(run.platform_id, run.tenant_id),
            marker_scope=marker_scope(run.platform_id, run.tenant_id),
        )
        try:
            for kind_run in run.kinds:
                if kind_run.phase in (Phase.DONE, Phase.FAILED):
                    continue
                before = reader.requests
                try:
                    run = self._run_kind(
                        run,
                        kind_run,
                        _handler(kind_run.kind, reader, lookups, self._contact_index(run)),
                        state,
                        reader,
                        should_stop,
                    )
                except SevdeskError as exc:
                    if exc.retryable or isinstance(exc, SevdeskAuthError):
                        raise
                    self._fail_kind(kind_run, f"sevDesk refused a read: {exc}", "sevdesk_refused")
                except PagingStuck as exc:
                    self._fail_kind(kind_run, exc.message, exc.code)
                finally:
                    kind_run.requests += reader.requests - before
                run = self.store.save_run(run.touched(self.clock.now()))
        except HandBack:
            run.handoffs += 1
            run = self.store.save_run(run.touched(self.clock.now()))
            self._send(run, "continue", f"{run.run_id}.c{run.handoffs}")
            return run
        except SevdeskAuthError as exc:
            self.connections.mark_reconnect_required(
                run.platform_id,
                run.tenant_id,
                f"sevDesk rejected the token: {exc.message}",
                token_version=connection.token_version,
            )
            parked = self._park(run, "sevDesk rejected the token (401); waiting for a new token")
            # A new token may have arrived while this import ran (its resume found nothing parked yet).
            current = self.connections.store.get(run.platform_id, run.tenant_id)
            if (
                current is not None
                and current.status is ConnectionStatus.CONNECTED
                and current.token_version != connection.token_version
            ):
                self._send(parked, "resume", f"{parked.run_id}.r{current.token_version}")
            return parked
        except (SevdeskError, TemporarilyUnavailable) as exc:
            reason = exc.message if isinstance(exc, TemporarilyUnavailable) else str(exc)
            pause = _pause_of(exc)
            if pause is not None:
                self.store.save_run(run.touched(self.clock.now(), error=f"paused: {reason}"))
                raise RetryImportLater(reason, delay_seconds=pause) from None
            failures = run.failures + 1
            if failures >= self.max_attempts:
                cause = _cause_of(exc)
                error = f"gave up after {failures} attempts: {reason}"
                return self._finish(run, state, connection, error=error, cause=cause)
            self.store.save_run(run.touched(self.clock.now(), error=f"will retry: {reason}", failures=failures))
            raise RetryImportLater(reason, delay_seconds=retry_delay(failures)) from None
        except Exception as exc:
            # Not a sevDesk answer: a bug or an AWS failure. SQS's receive count bounds it (the run may
            # not even be storable), counted by deliveries rather than by the run's failures.
            if receive_count >= self.max_receives:
                error = f"gave up after {receive_count} attempts: {type(exc).__name__}"
                return self._finish(run, state, connection, error=error, cause="internal_error")
            raise
        return self._finish(run, state, connection)

    def _run_kind(
        self,
        run: ImportRun,
        kind_run: KindRun,
        handler: KindHandler,
        state: TenantImportState,
        reader: SevdeskReader,
        should_stop: Callable[[], bool],
    ) -> ImportRun:
        if kind_run.phase is Phase.PENDING:
            watermark = state.health(kind_run.kind).watermark
            kind_run.first_pass = watermark is None
            kind_run.full = kind_run.full or kind_run.first_pass  # the first pass reads everything
            incremental = handler.incremental and not kind_run.full and watermark is not None
            kind_run.since = watermark - OVERLAP if incremental and watermark is not None else None
            kind_run.phase, kind_run.started_at = Phase.READING, self.clock.now()
            run = self.store.save_run(run.touched(self.clock.now()))
        while kind_run.phase is Phase.READING:
            if should_stop():
                raise HandBack
            run = self._read_page(run, kind_run, handler, reader)
        if kind_run.phase is Phase.RECONCILING:
            run = self._reconcile(run, kind_run, handler, reader, should_stop)
        return run

    def _read_page(self, run: ImportRun, kind_run: KindRun, handler: KindHandler, reader: SevdeskReader) -> ImportRun:
        limit = PAGE_SIZES[kind_run.kind]
        rows = reader.page(kind_run.kind, since=kind_run.since, offset=kind_run.offset, limit=limit)
        ids = [ref_id(row.get("id")) for row in rows]
        fresh: dict[str, Row] = {}
        for sevdesk_id, row in zip(ids, rows, strict=True):
            if sevdesk_id is not None and sevdesk_id not in kind_run.overlap_ids:
                fresh.setdefault(sevdesk_id, row)
        full_page = len(rows) >= limit
        step = limit - max(1, limit // OVERLAP_SHARE)
        shifted = kind_run.overlap_ids and not set(kind_run.overlap_ids) & set(ids)
        if shifted and kind_run.rewinds < MAX_REWINDS:
            kind_run.rewinds += 1
            kind_run.offset = max(0, kind_run.offset - step)
            return self.store.save_run(run.touched(self.clock.now()))
        if full_page and not fresh:
            raise PagingStuck(f"sevDesk returned the same {kind_run.kind.value} again at offset {kind_run.offset}")
        entries = self.store.index_get(run.platform_id, run.tenant_id, kind_run.kind, list(fresh))
        unchanged = 0
        todo: list[Row] = []
        for sevdesk_id, row in fresh.items():
            entry = entries.get(sevdesk_id)
            update = moment(row.get("update"))
            quick = handler.cheap_unchanged and not kind_run.full and entry is not None and update is not None
            if quick and entry is not None and entry.update == update:
                unchanged += entry.run_id != run.run_id
            else:
                todo.append(row)
        candidates = handler.candidates(todo)
        missing = [c.sevdesk_id for c in candidates if c.sevdesk_id not in entries]
        if missing:
            entries.update(self.store.index_get(run.platform_id, run.tenant_id, kind_run.kind, missing))
        run, more = self._apply(run, kind_run, candidates, entries)
        unchanged += more
        stamps = [stamp for row in fresh.values() if (stamp := moment(row.get("update"))) is not None]
        if stamps:
            kind_run.max_update = max([*stamps, *([kind_run.max_update] if kind_run.max_update else [])])
        if kind_run.full:
            self.store.add_seen(run, kind_run.kind, kind_run.pages, list(fresh))
        kind_run.counts = kind_run.counts.plus(Counts(read=len(fresh), unchanged=unchanged))
        kind_run.pages += 1
        if full_page:
            kind_run.offset += step
            kind_run.overlap_ids = [i for i in ids[step:] if i is not None]
        else:
            kind_run.phase = Phase.RECONCILING if kind_run.full else Phase.DONE
            kind_run.overlap_ids = []
            if kind_run.phase is Phase.DONE:
                kind_run.finished_at = self.clock.now()
        return self.store.save_run(run.touched(self.clock.now()))

    def _reconcile(
        self,
        run: ImportRun,
        kind_run: KindRun,
        handler: KindHandler,
        reader: SevdeskReader,
        should_stop: Callable[[], bool],
    ) -> ImportRun:
        """Records in the index that this full pass did not see: each is looked up by id (offset paging
        over changing data can skip a row), and reported deleted only if sevDesk says it is gone or it
        no longer matches what is imported. Only after every page was read: never from a failed pass."""
        seen = self.store.seen(run, kind_run.kind)
        known = self.store.index_all(run.platform_id, run.tenant_id, kind_run.kind)
        missing = sorted((i for i in known if i not in seen), key=lambda i: (len(i), i))
        for start in range(0, len(missing), CHUNK):
            if should_stop():
                raise HandBack
            batch = missing[start : start + CHUNK]
            rows: list[Row] = []
            gone: list[Candidate] = []
            for sevdesk_id in batch:
                row = reader.fetch(kind_run.kind, sevdesk_id)
                if row is None:
                    gone.append(Candidate(sevdesk_id, None, None, exists=False))
                else:
                    rows.append(row)
            run, _ = self._apply(run, kind_run, [*gone, *handler.candidates(rows)], known)
            self.store.add_seen(run, kind_run.kind, 1_000_000 + start, batch)
        kind_run.phase, kind_run.finished_at = Phase.DONE, self.clock.now()
        return self.store.save_run(run.touched(self.clock.now()))

    def _apply(
        self, run: ImportRun, kind_run: KindRun, candidates: list[Candidate], entries: dict[str, IndexEntry]
    ) -> tuple[ImportRun, int]:
        """Compares candidates with the index and publishes the changes; returns how many were unchanged
        (and not counted already by an earlier attempt of this run)."""
        now = self.clock.now()
        unchanged = 0
        chunk = Chunk(kind_run.kind)
        for candidate in candidates:
            entry = entries.get(candidate.sevdesk_id)
            if kind_run.first_pass and entry is not None and entry.run_id != run.run_id:
                if candidate.record is None:
                    chunk.deletes.append(candidate.sevdesk_id)  # a leftover: forget it, report nothing
                entry = None
            if candidate.record is None:
                if entry is None:
                    continue  # never reported: nothing to take back
                flags = (Flag.OUT_OF_SCOPE,) if candidate.exists else ()
                chunk.drafts.append(
                    ChangeDraft(
                        kind=kind_run.kind,
                        action=Action.DELETED,
                        sevdesk_id=candidate.sevdesk_id,
                        source_id=entry.source_id,
                        flags=flags,
                        sevdesk_updated_at=candidate.update,
                    )
                )
                chunk.deletes.append(candidate.sevdesk_id)
                chunk.counts = chunk.counts.plus(Counts(deleted=1, flagged=int(bool(flags))))
            else:
                new_hash = record_hash(candidate.record)
                if entry is not None and entry.record_hash == new_hash:
                    unchanged += entry.run_id != run.run_id
                    continue
                index_entry = IndexEntry(
                    kind=kind_run.kind,
                    sevdesk_id=candidate.sevdesk_id,
                    update=candidate.update,
                    record_hash=new_hash,
                    run_id=run.run_id,
                    observed_at=now,
                    source_id=candidate.source_id,
                    email=candidate.email,
                    phone=candidate.phone,
                )
                chunk.puts.append(index_entry)
                if candidate.is_echo is not None and candidate.is_echo(entry, new_hash):
                    chunk.counts = chunk.counts.plus(Counts(unchanged=1))
                else:
                    action = Action.UPDATED if entry is not None or candidate.known_to_platform else Action.CREATED
                    chunk.drafts.append(
                        ChangeDraft(
                            kind=kind_run.kind,
                            action=action,
                            sevdesk_id=candidate.sevdesk_id,
                            source_id=candidate.source_id,
                            flags=candidate.flags,
                            conflict=candidate.conflict,
                            record=candidate.record,
                            record_hash=new_hash,
                            sevdesk_updated_at=candidate.update,
                        )
                    )
                    chunk.counts = chunk.counts.plus(
                        Counts(
                            created=int(action is Action.CREATED),
                            updated=int(action is Action.UPDATED),
                            flagged=int(bool(candidate.flags)),
                        )
                    )
            if len(chunk.drafts) >= CHUNK or len(chunk.puts) + len(chunk.deletes) >= 2 * CHUNK:
                run = self.publisher.publish(run, chunk)
                chunk = Chunk(kind_run.kind)
        return self.publisher.publish(run, chunk), unchanged

    def _contact_index(self, run: ImportRun) -> ContactIndex:
        def read(ids: list[str]) -> dict[str, IndexEntry]:
            return self.store.index_get(run.platform_id, run.tenant_id, ImportKind.CONTACTS, ids)

        return read

    # -- endings ----------------------------------------------------------------------------------

    def _fail_kind(self, kind_run: KindRun, error: str, cause: str) -> None:
        kind_run.phase, kind_run.error, kind_run.finished_at = Phase.FAILED, error, self.clock.now()
        kind_run.cause = cause

    def _park(self, run: ImportRun, note: str) -> ImportRun:
        now = self.clock.now()
        if run.revision == 0:
            run = self.store.create_run(run)
        return self.store.save_run(run.touched(now, state=RunState.WAITING_FOR_CREDENTIALS, error=note))

    def _finish(
        self,
        run: ImportRun,
        state: TenantImportState,
        connection: Connection | None = None,
        *,
        error: str | None = None,
        cause: str = "internal_error",
    ) -> ImportRun:
        """Moves the watermark of every kind that completed, records errors, frees the tenant and, given
        the connection, tells the platform how the run ended (in the same transaction)."""
        now = self.clock.now()
        if run.revision == 0:
            run = self.store.create_run(run)
        for kind_run in run.kinds:
            if error is not None and kind_run.phase not in (Phase.DONE, Phase.FAILED):
                self._fail_kind(kind_run, error, cause)
        for kind_run in run.kinds:
            health = state.health(kind_run.kind).model_copy()
            health.last_run_id = run.run_id
            if kind_run.phase is Phase.DONE:
                if kind_run.max_update is not None and kind_run.started_at is not None:
                    newest = min(kind_run.max_update, kind_run.started_at)
                    health.watermark = max(newest, health.watermark) if health.watermark else newest
                health.last_success_at = kind_run.finished_at or now
                if kind_run.full:
                    health.last_full_at = kind_run.started_at
            elif kind_run.phase is Phase.FAILED:
                health.last_error, health.last_error_at = kind_run.error, kind_run.finished_at or now
            state.kinds[kind_run.kind] = health
        failed = [k for k in run.kinds if k.phase is not Phase.DONE]
        run.state = RunState.FAILED if failed or error else RunState.SUCCEEDED
        run.error = error or ("; ".join(f"{k.kind.value}: {k.error}" for k in failed) or None)
        run.finished_at = run.updated_at = now
        if state.active_run_id == run.run_id:
            state.active_run_id = None
        notices = self._notices(run, connection)
        run, _, told = self.store.finish(run, state, notices)
        if told and self.notifier is not None:
            self.notifier.dispatch_soon(notices)
        return run

    def _notices(self, run: ImportRun, connection: Connection | None) -> Notices:
        if self.notifier is None or connection is None:
            return NO_NOTICES
        p, t = run.platform_id, run.tenant_id
        notices = NO_NOTICES
        if run.state is RunState.SUCCEEDED:
            summary = notify_types.ImportCompleted(
                import_id=run.run_id,
                full=any(k.full for k in run.kinds),
                started_at=run.started_at or run.created_at,
                finished_at=run.finished_at or self.clock.now(),
                kinds={k.kind.value: notify_types.ImportKindCounts(**k.counts.model_dump()) for k in run.kinds},
                changes=run.counts.changes,
            )
            notices += self.notifier.import_completed(
                p, t, summary, notify_unchanged=connection.settings.webhook_unchanged_imports
            )
        else:
            cause = next((k.cause for k in run.kinds if k.cause), "internal_error")
            notices += self.notifier.import_failed(
                p,
                t,
                cause=cause,
                message=run.error or "the import failed",
                retryable=RETRYABLE_CAUSES.get(cause, True),
                import_id=run.run_id,
            )
        # What a failed run published is in the feed too: the platform should read it either way.
        if run.counts.changes and run.first_seq is not None:
            notices += self.notifier.changes_available(
                p,
                t,
                cursor=self.feed.cursor_before(p, t, run.first_seq),
                count=run.counts.changes,
                kinds={k.kind.value: k.counts.changes for k in run.kinds if k.counts.changes},
            )
        return notices


def _pause_of(exc: SevdeskError | TemporarilyUnavailable) -> int | None:
    """Seconds to wait when the failure is a pause rather than a failed attempt: our brake protecting
    the token, or sevDesk's 429 (with or without Retry-After)."""
    if isinstance(exc, (SevdeskBrakeEngaged, SevdeskRateLimited)):
        seconds = exc.pause_seconds
        if seconds is None:
            return None
        return min(MAX_RETRY_DELAY_SECONDS, max(1, math.ceil(seconds)))
    return None


def _cause_of(exc: SevdeskError | TemporarilyUnavailable) -> str:
    if isinstance(exc, TemporarilyUnavailable):
        return "temporarily_unavailable"
    return "too_many_sevdesk_errors" if isinstance(exc, SevdeskBrakeEngaged) else "sevdesk_unavailable"


def _handler(kind: ImportKind, reader: SevdeskReader, lookups: PlatformLookups, contacts: ContactIndex) -> KindHandler:
    if kind is ImportKind.CONTACTS:
        return ContactHandler(lookups)
    if kind is ImportKind.ARTICLES:
        return ArticleHandler(reader)
    if kind is ImportKind.ORDER_CONFIRMATIONS:
        return OrderHandler(reader, lookups)
    return InvoiceHandler(reader, lookups, contacts)
