"""The schedule tick's part in delivery (every 15 minutes): nothing waits forever, nothing is lost.

- Attempts due within the next tick interval whose wait was too long for an SQS delay are marked and
  enqueued with the remaining delay (the outbox holds them until then).
- Deliveries overdue by more than GRACE — their queue message was never sent (a crash between the state
  change and the enqueue) or got lost — are enqueued again. GRACE is longer than the webhook queue's
  visibility timeout, so a message SQS is about to redeliver is not doubled; a rare duplicate is dropped
  by the dispatcher's attempt counter or, at worst, deduplicated by the receiver (webhook-id).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sevbridge.domain.notify.dispatcher import MAX_QUEUE_DELAY
from sevbridge.domain.notify.ports import DeliveryStore, DispatchMessage, DispatchQueue
from sevbridge.domain.ports import Clock

TICK_INTERVAL = timedelta(minutes=15)
GRACE = timedelta(minutes=10)
BATCH = 10


@dataclass(frozen=True)
class SweepReport:
    woken: int = 0  # long waits that come due before the next tick
    rescued: int = 0  # overdue: their message was never sent or got lost
    unfinished: bool = False  # stopped at the time budget; the next tick goes on


@dataclass
class Sweeper:
    deliveries: DeliveryStore
    queue: DispatchQueue
    clock: Clock
    tick_interval: timedelta = TICK_INTERVAL
    grace: timedelta = GRACE

    def sweep(self, *, budget_seconds: float = 20.0) -> SweepReport:
        now = self.clock.now()
        deadline = time.monotonic() + budget_seconds
        horizon = now + self.tick_interval + timedelta(minutes=1)
        woken = rescued = 0
        pending: list[DispatchMessage] = []
        for due in self.deliveries.due(horizon):
            if time.monotonic() > deadline:
                self.queue.enqueue(pending)
                return SweepReport(woken, rescued, unfinished=True)
            if due.enqueued_for != due.next_attempt_at:
                if not self.deliveries.mark_enqueued(due):
                    continue  # it changed meanwhile (attempted, replayed): its own message covers it
                wait = due.next_attempt_at - now
                delay = max(0, min(int(wait.total_seconds()), int(MAX_QUEUE_DELAY.total_seconds())))
                woken += 1
            elif due.next_attempt_at < now - self.grace:
                delay = 0
                rescued += 1
            else:
                continue  # its message is on the way
            pending.append(DispatchMessage(due.ref, due.attempts_made, delay))
            if len(pending) == BATCH:
                self.queue.enqueue(pending)
                pending = []
        self.queue.enqueue(pending)
        return SweepReport(woken, rescued)
