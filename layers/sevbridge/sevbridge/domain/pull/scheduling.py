"""M5: which tenants are due for an import, and enqueueing them without ever running one twice.

The tick pages through a sparse index of connections (only connected, enabled tenants, with what the
tick needs: next-import-due time, interval, kinds), never through mapping or ledger rows, so its cost
grows with the number of tenants only. A due tenant is claimed by moving its due time forward
conditionally (only if it is still what this tick read): of two overlapping or repeated ticks exactly
one wins, and only the winner enqueues. The message's FIFO deduplication id (tenant, interval and
interval window) collapses what slips through within SQS's 5 minutes. If the send fails the due time is put back, so
the next tick tries again; a crash between claim and send delays that tenant by one interval (its
watermarks have not moved, so nothing is lost).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sevbridge.domain.ports import Clock
from sevbridge.domain.pull.messages import ImportMessage, new_run_id

BATCH = 10  # SendMessageBatch's limit
SHARDS = 8  # partitions of the sparse index (spreads 100 000 tenants' writes)


@dataclass(frozen=True)
class ScheduledTenant:
    platform_id: str
    tenant_id: str
    shard: str
    due: datetime
    interval_minutes: int
    kinds: tuple[str, ...]


class ImportSchedule(Protocol):
    def tenants(self, shard: int) -> Iterable[ScheduledTenant]:
        """Every indexed (connected, enabled) tenant of one shard, the longest-due first."""
        ...

    def advance(self, tenant: ScheduledTenant, next_due: datetime) -> bool:
        """Moves the due time if it is still `tenant.due`; False if another tick moved it first."""
        ...

    def put_back(self, tenant: ScheduledTenant, claimed_due: datetime) -> None:
        """Undoes `advance` (if nobody moved the due time since): the tenant is due again."""
        ...


class ImportQueue(Protocol):
    def send(self, message: ImportMessage) -> None: ...
    def send_batch(self, messages: list[ImportMessage]) -> list[bool]:
        """Up to 10 messages; per message whether SQS accepted it."""
        ...


def interval(minutes: int, scale: float) -> timedelta:
    return timedelta(minutes=minutes) * scale


def next_due(now: datetime, minutes: int, scale: float) -> datetime:
    """One interval ahead, minus a little slack: a tick that comes exactly one interval later (a few ms
    early) still finds the tenant due instead of skipping a whole interval."""
    step = interval(minutes, scale)
    return now + step - min(timedelta(minutes=1), step / 10)


def schedule_message(tenant: ScheduledTenant, now: datetime, scale: float) -> ImportMessage:
    window = int(now.timestamp() // max(interval(tenant.interval_minutes, scale).total_seconds(), 1e-3))
    # The tenant is part of the id: SQS scopes deduplication per message group, but a queue-wide scope
    # (the default, and the local stack's moto) must not merge two tenants' messages either.
    who = hashlib.sha256(f"{tenant.platform_id}\x00{tenant.tenant_id}".encode()).hexdigest()[:20]
    return ImportMessage(
        platform_id=tenant.platform_id,
        tenant_id=tenant.tenant_id,
        run_id=new_run_id(),
        trigger="schedule",
        dedup_id=f"sched.{who}.{tenant.interval_minutes}.{window}",
    )


@dataclass
class TickResult:
    tenants: int = 0
    scheduled: int = 0
    already_taken: int = 0  # another tick enqueued them first
    not_sent: int = 0  # the queue refused; still due, the next tick tries again
    stopped_early: bool = False
    due: list[ScheduledTenant] = field(default_factory=list, repr=False)


@dataclass
class ImportScheduler:
    schedule: ImportSchedule
    queue: ImportQueue
    clock: Clock
    time_scale: float = 1.0

    def tick(
        self,
        *,
        visit: Callable[[ScheduledTenant], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> TickResult:
        """Visits every indexed tenant (`visit`: other per-tenant upkeep) and enqueues the due ones.
        Stops when `should_stop()` says so; tenants not reached stay due for the next tick. Shards are
        taken in a rotating order so a tick cut short does not always leave the same tenants behind."""
        now = self.clock.now()
        result = TickResult()
        batch: list[ScheduledTenant] = []
        for tenant in self._tenants(now):
            if should_stop():
                result.stopped_early = True
                break
            result.tenants += 1
            if visit is not None:
                visit(tenant)
            if tenant.kinds and tenant.due <= now:
                batch.append(tenant)
                if len(batch) == BATCH:
                    self._enqueue(batch, now, result)
                    batch = []
        self._enqueue(batch, now, result)
        return result

    def _tenants(self, now: datetime) -> Iterator[ScheduledTenant]:
        first = int(now.timestamp() // 60) % SHARDS
        for offset in range(SHARDS):
            yield from self.schedule.tenants((first + offset) % SHARDS)

    def _enqueue(self, tenants: list[ScheduledTenant], now: datetime, result: TickResult) -> None:
        claimed: list[tuple[ScheduledTenant, datetime]] = []
        for tenant in tenants:
            due = next_due(now, tenant.interval_minutes, self.time_scale)
            if self.schedule.advance(tenant, due):
                claimed.append((tenant, due))
            else:
                result.already_taken += 1
        if not claimed:
            return
        messages = [schedule_message(tenant, now, self.time_scale) for tenant, _ in claimed]
        for (tenant, due), sent in zip(claimed, self.queue.send_batch(messages), strict=True):
            if sent:
                result.scheduled += 1
                result.due.append(tenant)
            else:
                result.not_sent += 1
                self.schedule.put_back(tenant, due)
