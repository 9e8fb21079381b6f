"""The time a synchronous invocation has left, for calls that must not outlast it.

API Gateway cuts a request off after 29 s with a bare 504; the api function must answer before that,
with its own error if sevDesk is slow. The handler sets the deadline from the Lambda context for the
duration of one request; code far below (the sevDesk token test) asks `time_left()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import Any

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("invocation_deadline", default=None)


@contextlib.contextmanager
def invocation_deadline(context: Any, *, reserve_seconds: float) -> Iterator[None]:
    """While inside, `time_left()` is the context's remaining time minus `reserve_seconds` (kept for
    the work after the slow call and the answer). Without a usable context there is no deadline."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    deadline = time.monotonic() + remaining_ms() / 1000 - reserve_seconds if callable(remaining_ms) else None
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left before the current invocation's deadline (may be ≤ 0); None outside one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
