"""The backfill worker: splits a job's documents into chunk messages and runs each chunk through the
normal push path: intake (ledger transfers; each line is an event with its own id) → transfer runner
(exactly once, units, statuses, P3, C3 parking). Work that must wait raises HoldBack; the message comes
back after that delay and goes on where it stopped (the event ids on the documents' pointers and terminal
transfers make it idempotent).

One message at a time per tenant (FIFO group): a tenant's backfill is one serial stream next to its
live transfers, whatever the queue's concurrency.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sevbridge.domain.backfill.jobs import (
    CHUNK_LINES,
    BackfillJob,
    ChunkResult,
    Counters,
    Direction,
    ItemResult,
    ItemStatus,
    JobState,
    PushKind,
)
from sevbridge.domain.backfill.ports import (
    AppliedVersions,
    BackfillMessage,
    BackfillQueue,
    BackfillStore,
    ChunkMessage,
    DocumentObjects,
    FollowMessage,
    SplitMessage,
)
from sevbridge.domain.backfill.service import completed_summary
from sevbridge.domain.connection_reuse import ReusedConnections
from sevbridge.domain.errors import ConcurrentUpdate, InvalidInput
from sevbridge.domain.events import EventType, Invoice
from sevbridge.domain.intake import EventResult, Intake, parse_event
from sevbridge.domain.intake_models import DocumentKey
from sevbridge.domain.ledger import Transfer, TransferKind, TransferStatus
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.ports import Clock, ConnectionStore
from sevbridge.domain.pull.ports import ImportStore
from sevbridge.domain.pull.runs import TERMINAL as RUN_TERMINAL
from sevbridge.domain.pull.runs import RunState
from sevbridge.domain.transfer_ops import TransferOps
from sevbridge.domain.transfer_runner import RetryLater, TransferRunner

EVENT_TYPE = {
    PushKind.CONTACTS: EventType.CONTACT_TRANSFER_REQUESTED,
    PushKind.INVOICES: EventType.INVOICE_TRANSFER_REQUESTED,
}
MAPPING_KIND = {PushKind.CONTACTS: "contact", PushKind.INVOICES: "invoice"}
WAIT_FOR_TOKEN = 300.0  # a chunk whose tenant needs a new token looks again after this long
SPLIT_RESERVE = 20.0  # seconds an invocation keeps to hand the rest of a split to a new message
CANCEL_CHECK_SECONDS = 1.0  # how stale the job's state may be before the next document starts
FOLLOW_DELAY = 30.0
FOLLOW_MAX_DELAY = 60.0
CHUNK_LANES = 2  # documents of one chunk transferred side by side (1: one after the other)


@dataclass(frozen=True)
class Runnable:
    """A document of a chunk that passed validation: its line, source id, transfers, and the ids it
    must not share with a document of another lane (itself, its customer)."""

    line: int
    source_id: str
    transfer_ids: list[str]
    keys: frozenset[str]


class HoldBack(Exception):
    """The message must come back after `delay` seconds (a pause, a retry delay, a parked tenant)."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass
class BackfillWorker:
    store: BackfillStore
    objects: DocumentObjects
    queue: BackfillQueue
    connections: ConnectionStore
    intake: Intake  # built with a queue that sends nothing: the chunk runs its transfers itself
    transfer_ops: TransferOps  # the same, for retry-failed
    runner_factory: Callable[[Callable[[], float] | None], TransferRunner]
    versions: AppliedVersions
    clock: Clock
    imports: ImportStore | None = None
    notifier: Notifier | None = None
    chunk_lines: int = CHUNK_LINES
    lanes: int = CHUNK_LANES
    seconds_per_document: float = 10.0  # time a document needs at most (set from the sevDesk timeout)
    monotonic: Callable[[], float] = field(default=time.monotonic)

    def process(
        self, message: BackfillMessage, time_left: Callable[[], float] | None = None, receives: int = 1
    ) -> None:
        if isinstance(message, SplitMessage):
            self._split(message, time_left)
        elif isinstance(message, ChunkMessage):
            self._chunk(message, time_left)
        else:
            self._follow(message, receives)

    # --- split ---------------------------------------------------------------------------------------
    def _split(self, m: SplitMessage, time_left: Callable[[], float] | None) -> None:
        job = self.store.get(m.platform_id, m.tenant_id, m.job_id)
        if job is None or job.state is not JobState.RUNNING or job.generation != m.generation:
            return  # cancelled, finished or superseded by a resume
        line, documents, seq = m.line, m.documents, m.seq
        outbox: list[ChunkMessage] = []

        def flush() -> None:
            if outbox:
                self.queue.send(outbox, dedup_ids=[f"{job.job_id}-g{job.generation}-c{c.seq}" for c in outbox])
                outbox.clear()

        for index in range(m.object_index, len(job.objects)):
            key = job.objects[index]
            start = m.offset if index == m.object_index else 0
            chunk: list[tuple[int, int]] = []  # (start, end) of the chunk's first and last line
            first_line = line + 1
            for begin, end, text in self.objects.lines(key, start=start):
                line += 1
                if not text.strip():
                    continue
                if not chunk:
                    first_line, chunk = line, [(begin, end)]
                else:
                    chunk.append((begin, end))
                documents += 1
                if len(chunk) == self.chunk_lines:
                    outbox.append(self._chunk_message(job, seq, key, chunk[0][0], chunk[-1][1], first_line))
                    seq, chunk = seq + 1, []
                    if len(outbox) == 10:
                        flush()
                    if time_left is not None and time_left() < SPLIT_RESERVE:
                        flush()
                        self.store.split_progress(job, total=documents, chunks=None)
                        rest = m.model_copy(
                            update={
                                "object_index": index,
                                "offset": end,
                                "line": line,
                                "documents": documents,
                                "seq": seq,
                            }
                        )
                        self.queue.send([rest], dedup_ids=[f"{job.job_id}-g{job.generation}-split-{seq}"])
                        return
            if chunk:
                outbox.append(self._chunk_message(job, seq, key, chunk[0][0], chunk[-1][1], first_line))
                seq += 1
        flush()
        self.store.split_progress(job, total=documents, chunks=seq)
        self._finish_if_done(m.platform_id, m.tenant_id, m.job_id)

    @staticmethod
    def _chunk_message(job: BackfillJob, seq: int, key: str, start: int, end: int, first_line: int) -> ChunkMessage:
        return ChunkMessage(
            platform_id=job.platform_id,
            tenant_id=job.tenant_id,
            job_id=job.job_id,
            generation=job.generation,
            seq=seq,
            key=key,
            start=start,
            end=end,
            first_line=first_line,
        )

    # --- chunk ---------------------------------------------------------------------------------------
    def _chunk(self, m: ChunkMessage, time_left: Callable[[], float] | None) -> None:
        job = self.store.get(m.platform_id, m.tenant_id, m.job_id)
        if job is None or job.state is not JobState.RUNNING:
            return  # cancelled (dropped; resume sends it again) or finished
        if m.retry_failed and m.generation != job.generation:
            return  # a retry superseded by a later retry-failed or resume (which sends what is still due)
        previous = self.store.get_chunk(m.platform_id, m.tenant_id, m.job_id, m.seq)
        if previous is not None and (not m.retry_failed or previous.generation == m.generation):
            self._finish_if_done(m.platform_id, m.tenant_id, m.job_id)
            return  # a duplicate of a recorded chunk (or of a retry already recorded)
        assert job.kind is not None
        chunk = ChunkResult(
            seq=m.seq, first_line=m.first_line, key=m.key, start=m.start, end=m.end, generation=m.generation
        )
        lines = list(self._lines(m))
        to_send = self._admit(job, lines, chunk)
        cancelled = self._run(job, to_send, chunk, m.retry_failed, time_left)
        if cancelled:
            return  # not recorded: resume runs the chunk again; what it finished is not done twice
        self.store.record_chunk(job, chunk, previous)
        self._finish_if_done(m.platform_id, m.tenant_id, m.job_id)

    def _lines(self, m: ChunkMessage) -> Iterator[tuple[int, bytes]]:
        number = m.first_line - 1
        for _, _, text in self.objects.lines(m.key, start=m.start, end=m.end):
            number += 1
            if text.strip():
                yield number, text

    def _admit(self, job: BackfillJob, lines: Sequence[tuple[int, bytes]], chunk: ChunkResult) -> list[Runnable]:
        """Validates, filters and de-duplicates the chunk's lines; records the survivors as transfers.
        Returns the documents to run."""
        assert job.kind is not None
        counters = chunk.counters
        valid: list[tuple[int, dict[str, Any], Any, Any]] = []
        for number, text in lines:
            raw, problem = _event_of(job, number, text)
            if problem is not None:
                counters.invalid += 1
                chunk.items.append(
                    ItemResult(line=number, status=ItemStatus.INVALID, reason=problem[1], field=problem[0])
                )
                continue
            try:
                envelope, data = parse_event(raw)
            except InvalidInput as exc:
                counters.invalid += 1
                first = exc.details[0] if exc.details else {}
                chunk.items.append(
                    ItemResult(
                        line=number,
                        source_id=_source_id(raw),
                        status=ItemStatus.INVALID,
                        reason=f"{exc.message}: {first.get('problem', '')}".rstrip(": "),
                        field=_line_field(str(first.get("field", ""))),
                    )
                )
                continue
            if isinstance(data, Invoice) and job.filters.excludes(data.invoice_date, data.status):
                counters.filtered += 1
                continue
            valid.append((number, raw, envelope, data))

        applied = self.versions.applied(
            job.platform_id, job.tenant_id, MAPPING_KIND[job.kind], [d.source_id for _, _, _, d in valid]
        )
        done = [
            (raw, data)
            for _, raw, envelope, data in valid
            if (version := applied.get(data.source_id)) is not None and version >= envelope.occurred_at
        ]
        # A line this job transferred itself (a chunk running again after a crash, retry-failed) is the
        # event its document's pointer names: it is counted by its transfer, not as skipped. One read of
        # those documents' pointers.
        kind = TransferKind(MAPPING_KIND[job.kind])
        states = self.intake.ledger.lookup(
            job.platform_id, job.tenant_id, [DocumentKey(kind=kind, source_id=data.source_id) for _, data in done]
        )
        ours = {
            raw["id"] for (raw, _), state in zip(done, states, strict=True) if state and state.event_id == raw["id"]
        }
        skip = {raw["id"] for raw, _ in done} - ours
        fresh = []
        for number, raw, _, data in valid:
            if raw["id"] in skip:
                counters.skipped += 1
                chunk.items.append(
                    ItemResult(
                        line=number,
                        source_id=data.source_id,
                        status=ItemStatus.SKIPPED,
                        reason="already transferred with this version",
                    )
                )
                continue
            fresh.append((number, raw, data.source_id, _keys_of(data)))
        if not fresh:
            return []
        connection = self.connections.get(job.platform_id, job.tenant_id)
        if connection is None:
            raise HoldBack("the tenant has no connection", WAIT_FOR_TOKEN)
        results = self.intake.accept(connection, [raw for _, raw, _, _ in fresh])
        to_run = []
        for (number, _, source_id, keys), result in zip(fresh, results, strict=True):
            ids = _transfer_ids(result)
            if ids is None:
                counters.failed += 1
                error = result.answer.get("error") or {}
                chunk.items.append(
                    ItemResult(
                        line=number,
                        source_id=source_id,
                        status=ItemStatus.FAILED,
                        reason=str(error.get("message", result.status)),
                    )
                )
                continue
            to_run.append(Runnable(line=number, source_id=source_id, transfer_ids=ids, keys=keys))
        return to_run

    def _run(
        self,
        job: BackfillJob,
        to_run: Sequence[Runnable],
        chunk: ChunkResult,
        retry_failed: bool,
        time_left: Callable[[], float] | None,
    ) -> bool:
        """Runs the transfers, in up to `lanes` lanes side by side; True if the job was cancelled meanwhile.

        Documents that share an id (the same document twice, or one customer) are in the same lane, one
        after the other: two lanes never create one customer twice. Each lane is a serial stream through
        the same per-tenant brake and backoff as every other request of the tenant."""
        lanes = _lanes(to_run, self.lanes)
        stop = threading.Event()  # set when a lane sees the job cancelled or must hold the chunk back
        lock = threading.Lock()
        cancelled: list[bool] = []
        reused: list[ReusedConnections] = []  # the tenant's connection, read once for the chunk's lanes

        def lane(documents: Sequence[Runnable]) -> None:
            runner = self.runner_factory(time_left)
            with lock:
                if not reused:
                    reused.append(ReusedConnections(runner.connections.store))
                runner.reused = reused[0]
            checked = self.monotonic()
            for document in documents:
                if stop.is_set():
                    return
                if self.monotonic() - checked >= CANCEL_CHECK_SECONDS:
                    current = self.store.get(job.platform_id, job.tenant_id, job.job_id)
                    if current is None or current.state is not JobState.RUNNING:
                        cancelled.append(True)
                        stop.set()
                        return
                    checked = self.monotonic()
                if time_left is not None and time_left() < self.seconds_per_document:
                    stop.set()
                    raise HoldBack("too little time left in this invocation", 0)
                try:
                    transfers = [self._run_one(runner, job, tid, retry_failed) for tid in document.transfer_ids]
                except BaseException:
                    stop.set()
                    raise
                with lock:
                    _tally(chunk, document.line, document.source_id, transfers)

        if len(lanes) <= 1:
            for documents in lanes:
                lane(documents)
        else:
            with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="backfill-lane") as pool:
                # Each lane in a copy of this context (log keys, the invocation's deadline).
                futures = [pool.submit(contextvars.copy_context().run, lane, d) for d in lanes]
                errors = [e for f in futures if (e := f.exception()) is not None]
            if errors:
                # The shortest hold-back wins: the chunk comes back as soon as any of its lanes can go on;
                # what the other lanes finished is recorded in the ledger and not done again.
                holds = [e for e in errors if isinstance(e, HoldBack)]
                others = [e for e in errors if not isinstance(e, HoldBack)]
                if others:
                    raise others[0]
                raise min(holds, key=lambda h: h.delay)
        chunk.items.sort(key=lambda item: item.line)
        return bool(cancelled)

    def _run_one(
        self, runner: TransferRunner, job: BackfillJob, transfer_id: str, retry_failed: bool
    ) -> Transfer | None:
        if retry_failed:
            current = runner.ledger.get(job.platform_id, job.tenant_id, transfer_id)
            if current is not None and current.status is TransferStatus.FAILED:
                self.transfer_ops.retry(job.platform_id, job.tenant_id, transfer_id)
        try:
            transfer = runner.run(job.platform_id, job.tenant_id, transfer_id)
        except RetryLater as exc:
            raise HoldBack(str(exc), exc.delay) from None
        if transfer is not None and transfer.status is TransferStatus.WAITING_FOR_CREDENTIALS:
            raise HoldBack("waiting for a new sevDesk token", WAIT_FOR_TOKEN)
        return transfer

    # --- pull ----------------------------------------------------------------------------------------
    def _follow(self, m: FollowMessage, receives: int) -> None:
        job = self.store.get(m.platform_id, m.tenant_id, m.job_id)
        if job is None or job.state is not JobState.RUNNING or job.direction is not Direction.PULL:
            return
        if self.imports is None or job.import_run_id is None:
            raise RuntimeError("a pull backfill needs the import store and its run")
        run = self.imports.get_run(m.platform_id, m.tenant_id, job.import_run_id)
        if run is None:
            job.error = "the import run is gone"
        elif run.state not in RUN_TERMINAL:
            # Looks again within a minute: the job completes at most that long after its import (a look
            # costs one message and two reads, so even an hours-long history needs no longer waits).
            raise HoldBack(f"import {run.run_id} is {run.state.value}", min(FOLLOW_MAX_DELAY, FOLLOW_DELAY * receives))
        else:
            job.import_read = sum(k.counts.read for k in run.kinds)
            if run.state is RunState.FAILED:
                job.error = run.error or "the import failed"
        self._finish(job)

    # --- the end -------------------------------------------------------------------------------------
    def _finish_if_done(self, platform_id: str, tenant_id: str, job_id: str) -> None:
        job = self.store.get(platform_id, tenant_id, job_id)
        if job is None or job.state is not JobState.RUNNING or not job.split_done or job.chunks is None:
            return
        # Every chunk recorded, and every chunk retry-failed sent again recorded again.
        if job.chunks_done >= job.chunks and job.retries_left <= 0:
            self._finish(job)

    def _finish(self, job: BackfillJob) -> None:
        """The final state and backfill.completed commit together."""
        now = self.clock.now()
        job.state, job.finished_at, job.updated_at = JobState.COMPLETED, now, now
        notices = (
            self.notifier.backfill_completed(job.platform_id, job.tenant_id, completed_summary(job))
            if self.notifier
            else None
        )
        try:
            self.store.save(job, notices)
        except ConcurrentUpdate:
            return  # cancelled or finished by someone else meanwhile
        if self.notifier and notices:
            self.notifier.dispatch_soon(notices)


def _event_of(job: BackfillJob, number: int, text: bytes) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """A line `{"occurred_at": …, "data": {…}}` as an event of the job's kind (id = job + line, so a
    chunk that runs again finds its lines recorded); or the (field, problem) that makes it unusable."""
    assert job.kind is not None
    try:
        line = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return {}, ("", "not valid JSON")
    if not isinstance(line, dict):
        return {}, ("", "not a JSON object")
    unknown = sorted(set(line) - {"occurred_at", "data"})
    if unknown:
        return {}, (unknown[0], 'unknown field; a line is {"occurred_at": …, "data": {…}}')
    for name in ("occurred_at", "data"):
        if name not in line:
            return {}, (name, "required")
    raw = {"id": f"{job.job_id}.{number}", "type": EVENT_TYPE[job.kind].value, **line}
    return raw, None


def _keys_of(data: Any) -> frozenset[str]:
    """What a document must not share with one in another lane: itself and, for an invoice, its customer."""
    keys = {f"{type(data).__name__}:{data.source_id}"}
    customer = getattr(data, "customer", None)
    if customer is not None and getattr(customer, "source_id", None):
        keys.add(f"Contact:{customer.source_id}")
    return frozenset(keys)


def _lanes(documents: Sequence[Runnable], lanes: int) -> list[list[Runnable]]:
    """Splits documents into at most `lanes` lists, in order within each, so that documents sharing a key
    are in one list. If a document links keys already in two lanes, everything runs in one lane."""
    if lanes <= 1 or len(documents) <= 1:
        return [list(documents)] if documents else []
    out: list[list[Runnable]] = [[] for _ in range(lanes)]
    owner: dict[str, int] = {}
    for document in documents:
        taken = {owner[k] for k in document.keys if k in owner}
        if len(taken) > 1:
            return [list(documents)]
        index = taken.pop() if taken else min(range(lanes), key=lambda i: len(out[i]))
        out[index].append(document)
        for key in document.keys:
            owner[key] = index
    return [documents for documents in out if documents]


def _source_id(raw: dict[str, Any]) -> str | None:
    data = raw.get("data")
    value = data.get("source_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _line_field(field: str) -> str:
    # Fields are named as they are in the line ("data.customer.emails.0"); the event envelope's id and
    # type are ours, so they never show up.
    return field


def _transfer_ids(result: EventResult) -> list[str] | None:
    if result.status != "accepted":
        return None
    return [str(t["transfer_id"]) for t in result.answer.get("transfers", [])]


def _tally(chunk: ChunkResult, number: int, source_id: str, transfers: Sequence[Transfer | None]) -> None:
    """One line, one outcome: failed if any of its transfers failed (a contact's P3 invoices included),
    else skipped if the document itself was skipped, else done."""
    counters: Counters = chunk.counters
    failed = next((t for t in transfers if t is not None and t.status is TransferStatus.FAILED), None)
    first = transfers[0] if transfers else None
    if first is None or failed is not None or any(t is None for t in transfers):
        counters.failed += 1
        reason = (failed.reason or failed.last_error or "failed") if failed else "the tenant was offboarded"
        chunk.items.append(
            ItemResult(
                line=number,
                source_id=source_id,
                status=ItemStatus.FAILED,
                reason=reason,
                transfer_id=failed.transfer_id if failed else None,
            )
        )
    elif first.status is TransferStatus.SKIPPED:
        counters.skipped += 1
        chunk.items.append(
            ItemResult(
                line=number,
                source_id=source_id,
                status=ItemStatus.SKIPPED,
                reason=first.reason or "skipped",
                transfer_id=first.transfer_id,
            )
        )
    else:
        counters.done += 1


class RunInPlace:
    """The intake's TransferQueue for backfill chunks: nothing is sent, the chunk runs its transfers
    itself from the backfill queue (live events keep the transfer queue to themselves)."""

    def enqueue(self, transfers: list[Transfer]) -> None:
        del transfers
