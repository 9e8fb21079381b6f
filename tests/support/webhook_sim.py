"""Time travel for webhook schedules: an in-memory webhook queue that honours per-message delays against
the test's clock, and a driver that feeds due messages to the real dispatcher handler and runs the
15-minute tick, so a day of retries takes seconds. DynamoDB (moto), KMS and HTTP stay real."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from local_stack.lambda_context import LocalLambdaContext
from local_stack.pollers import sqs_event
from sevbridge.adapters.sqs_webhook_queue import message_body
from sevbridge.domain.notify.ports import DispatchMessage
from tests.functional.conftest import load_function
from tests.support.receiver import FakeClock

TICK = timedelta(minutes=15)


@dataclass
class SimulatedQueue:
    clock: FakeClock
    waiting: list[tuple[datetime, int, DispatchMessage]] = field(default_factory=list)
    sent: int = 0

    def enqueue(self, messages: Sequence[DispatchMessage]) -> int:
        for message in messages:
            self.sent += 1
            self.waiting.append((self.clock.now() + timedelta(seconds=message.delay_seconds), self.sent, message))
        return len(messages)

    def take_due(self) -> list[DispatchMessage]:
        now = self.clock.now()
        due = sorted(w for w in self.waiting if w[0] <= now)
        self.waiting = [w for w in self.waiting if w[0] > now]
        return [w[2] for w in due]

    def next_visible_at(self) -> datetime | None:
        return min((w[0] for w in self.waiting), default=None)


def install(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> SimulatedQueue:
    from sevbridge import wiring

    queue = SimulatedQueue(clock)
    monkeypatch.setattr(wiring, "dispatch_queue", functools.cache(lambda: queue))
    wiring.reset()
    return queue


def _context(name: str, timeout: int) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:eu-central-1:123456789012:function:{name}",
        memory_limit_in_mb=512,
        timeout_seconds=timeout,
    )


def deliver(messages: list[DispatchMessage]) -> dict[str, Any]:
    """One batch through the real webhook_dispatcher handler, as the SQS event source mapping sends it."""
    raw: list[Any] = [
        {"MessageId": f"m-{i}", "ReceiptHandle": f"r-{i}", "Body": message_body(m), "Attributes": {}}
        for i, m in enumerate(messages)
    ]
    event = sqs_event(raw, queue_arn="arn:aws:sqs:eu-central-1:123456789012:webhooks", region="eu-central-1")
    result: dict[str, Any] = load_function("webhook_dispatcher").lambda_handler(
        event, _context("webhook-dispatcher", 60)
    )
    return result


def run_tick() -> None:
    from tests.support.events import load_event

    load_function("import_scheduler").lambda_handler(load_event("schedule-import-tick.json"), _context("tick", 60))


@dataclass
class Simulation:
    """Runs the dispatcher and the tick against simulated time until `until`."""

    queue: SimulatedQueue
    clock: FakeClock
    next_tick: datetime | None = None
    on_time: Callable[[datetime], None] | None = None

    def run_until(self, until: datetime) -> None:
        if self.next_tick is None:
            self.next_tick = self.clock.now() + TICK
        while True:
            due = self.queue.take_due()
            if due:
                for start in range(0, len(due), 10):
                    deliver(due[start : start + 10])
                continue
            self._skip_idle_ticks(until)
            upcoming = [t for t in (self.queue.next_visible_at(), self.next_tick) if t is not None]
            step = min(upcoming)
            if step > until:
                self.clock.current = max(self.clock.current, until)
                return
            self.clock.current = max(self.clock.current, step)
            if self.on_time is not None:
                self.on_time(self.clock.current)
            if self.clock.current >= self.next_tick:
                run_tick()
                self.next_tick += TICK

    def _skip_idle_ticks(self, until: datetime) -> None:
        """A tick with no delivery due within its horizon does nothing for webhooks: jump over those
        (keeping the 15-minute grid) instead of invoking the handler hundreds of times."""
        from sevbridge import wiring

        assert self.next_tick is not None
        earliest = min(
            (d.next_attempt_at for d in wiring.delivery_store().due(until + timedelta(days=365))), default=None
        )
        horizon = TICK + timedelta(minutes=1)
        target = until if earliest is None else min(until, earliest - horizon)
        while self.next_tick + TICK <= target:
            self.next_tick += TICK
