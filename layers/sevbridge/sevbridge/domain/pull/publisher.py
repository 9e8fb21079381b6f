"""Publishing a chunk of changes exactly once, without a multi-item transaction.

For each chunk (≤ CHUNK records): reserve positions in the tenant's change feed (a lease on its head),
write the run with an *intent* (the positions and the index updates to make), write and publish the
changes, then apply the index updates and the counts and drop the intent. The index is what tells
the next pass that a record was reported; it is only updated after the changes are visible.

A crash anywhere leaves one of three states, all recovered by `recover` on the run's next delivery:
- no intent: nothing was published; the page is processed again and yields the same changes;
- an intent whose changes were published: the index updates are applied (they are in the intent);
- an intent whose changes were not published: dropped (the lease expires or is released); the page
  is processed again.
So no change is lost and none is reported twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from sevbridge.domain.errors import TemporarilyUnavailable
from sevbridge.domain.pull.ports import ChangeFeed, ImportStore, LeaseLost, Reservation
from sevbridge.domain.pull.records import ChangeDraft, ImportKind
from sevbridge.domain.pull.runs import Counts, ImportRun, IndexEntry, Intent

CHUNK = 40
ATTEMPTS = 3


@dataclass
class Chunk:
    kind: ImportKind
    drafts: list[ChangeDraft] = field(default_factory=list)
    puts: list[IndexEntry] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def empty(self) -> bool:
        return not (self.drafts or self.puts or self.deletes) and self.counts == Counts()


@dataclass
class Publisher:
    store: ImportStore
    feed: ChangeFeed

    def publish(self, run: ImportRun, chunk: Chunk) -> ImportRun:
        if chunk.empty:
            return run
        if not chunk.drafts:  # baselines only (sevbridge's own writes): nothing for the feed
            run.intent = Intent(
                writer="",
                kind=chunk.kind,
                seq_from=0,
                seq_to=0,
                index_puts=list(chunk.puts),
                index_deletes=list(chunk.deletes),
                counts=chunk.counts,
            )
            return self._apply(self.store.save_run(run))
        drafts = [d.model_copy(update={"run_id": run.run_id}) for d in chunk.drafts]
        for _ in range(ATTEMPTS):
            writer = f"{run.run_id}.{secrets.token_hex(4)}"
            reservation = self.feed.reserve(run.platform_id, run.tenant_id, writer, len(drafts))
            run.intent = Intent(
                writer=writer,
                kind=chunk.kind,
                seq_from=reservation.seq_from,
                seq_to=reservation.seq_to,
                index_puts=list(chunk.puts),
                index_deletes=list(chunk.deletes),
                counts=chunk.counts,
            )
            try:
                run = self.store.save_run(run)
            except BaseException:
                self.feed.release(run.platform_id, run.tenant_id, reservation)
                raise
            try:
                self.feed.commit(run.platform_id, run.tenant_id, reservation, drafts)
            except LeaseLost:
                self.feed.release(run.platform_id, run.tenant_id, reservation)
                run.intent = None
                run = self.store.save_run(run)
                continue
            return self._apply(run)
        raise TemporarilyUnavailable("the tenant's change feed stayed busy; the import continues later")

    def recover(self, run: ImportRun) -> ImportRun:
        intent = run.intent
        if intent is None:
            return run
        if not intent.writer:
            return self._apply(run)
        reservation = Reservation(intent.writer, intent.seq_from, intent.seq_to)
        if self.feed.is_published(run.platform_id, run.tenant_id, reservation):
            return self._apply(run)
        self.feed.release(run.platform_id, run.tenant_id, reservation)
        run.intent = None
        return self.store.save_run(run)

    def _apply(self, run: ImportRun) -> ImportRun:
        intent = run.intent
        assert intent is not None
        deletes: Sequence[tuple[ImportKind, str]] = [(intent.kind, sevdesk_id) for sevdesk_id in intent.index_deletes]
        self.store.index_apply(run.platform_id, run.tenant_id, intent.index_puts, deletes)
        kind_run = run.kind_run(intent.kind)
        kind_run.counts = kind_run.counts.plus(intent.counts)
        if intent.writer and (run.first_seq is None or intent.seq_from < run.first_seq):
            run.first_seq = intent.seq_from
        run.intent = None
        return self.store.save_run(run)
