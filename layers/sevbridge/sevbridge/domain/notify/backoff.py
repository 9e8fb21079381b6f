"""The retry schedule of a delivery (documented in docs/webhooks.md).

8 attempts over 24 h 35 min: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 8 h and 9 h after the previous
attempt. A Retry-After answer (429/503) pushes the next attempt later, never earlier. Waits longer than
SQS's 15-minute delay limit are kept in the outbox and re-enqueued by the schedule tick.
"""

from __future__ import annotations

from datetime import timedelta

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=8),
    timedelta(hours=9),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A receiver may ask for a pause; longer requests are capped so a delivery still ends within days.
MAX_RETRY_AFTER = timedelta(hours=24)


def delay_after(attempt: int, retry_after_seconds: float | None = None) -> timedelta | None:
    """Wait before the next attempt after attempt number `attempt` (1-based) failed transiently;
    None when that was the last attempt."""
    if attempt >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[max(attempt, 1) - 1]
    if retry_after_seconds is not None and retry_after_seconds > 0:
        delay = max(delay, min(timedelta(seconds=retry_after_seconds), MAX_RETRY_AFTER))
    return delay


def total_span() -> timedelta:
    return sum(RETRY_DELAYS, timedelta())
