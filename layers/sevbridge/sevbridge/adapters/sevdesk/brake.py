"""Per-tenant error brake.

sevDesk may block a token whose requests produce many errors (api-facts §2). The brake watches each
tenant's answers in a sliding window and, once it trips, refuses further calls for a pause without
sending anything. Two kinds of error answers count differently:

- refusals (4xx: 400, 401, 403, 404, 409, 422, …) are requests sevDesk rejected; they are what puts a
  token at risk, so `max_errors` of them in the window trip the brake, whatever else succeeded.
  Successes do not reset the count: alternating good and bad requests cannot keep hammering sevDesk.
- trouble (5xx, 429) is sevDesk's own: a few percent of them are normal weather and are retried with
  backoff; the brake trips only when they are many (`max_errors`) *and* at least `trouble_share` of
  all answers in the window, i.e. sevDesk is mostly failing and more calls would only add load.

The state lives in the process (one Lambda container); FIFO message groups keep one tenant's work
serial, which makes a per-process brake a useful, cheap first line of defence.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sevbridge.domain.sevdesk_errors import SevdeskBrakeEngaged


@dataclass
class _Window:
    answers: deque[float] = field(default_factory=deque)
    refusals: deque[float] = field(default_factory=deque)
    trouble: deque[float] = field(default_factory=deque)

    def expire(self, now: float, window: float) -> None:
        for times in (self.answers, self.refusals, self.trouble):
            while times and now - times[0] >= window:
                times.popleft()


class ErrorBrake:
    def __init__(
        self,
        *,
        max_errors: int = 10,
        window: float = 60.0,
        pause: float = 120.0,
        trouble_share: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_errors < 1 or window <= 0 or pause < 0 or not 0 < trouble_share <= 1:
            raise ValueError("max_errors must be >= 1, window > 0, pause >= 0 and 0 < trouble_share <= 1")
        self.max_errors = max_errors
        self.window = window
        self.pause = pause
        self.trouble_share = trouble_share
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._paused_until: dict[str, float] = {}

    def __repr__(self) -> str:
        return (
            f"ErrorBrake(max_errors={self.max_errors}, window={self.window}, pause={self.pause}, "
            f"trouble_share={self.trouble_share})"
        )

    def resume_in(self, tenant_key: str) -> float:
        """Seconds until calls for this tenant are allowed again; 0 when the brake is released."""
        with self._lock:
            return self._remaining(tenant_key, self._clock())

    def check(self, tenant_key: str) -> None:
        """Raise SevdeskBrakeEngaged while the tenant is paused."""
        remaining = self.resume_in(tenant_key)
        if remaining > 0:
            raise SevdeskBrakeEngaged(
                f"too many sevDesk errors for this tenant; calls paused for {remaining:.0f}s to protect the token",
                resume_in=remaining,
            )

    def record_answer(self, tenant_key: str, status: int) -> None:
        """Count one HTTP answer of sevDesk (any status) for this tenant."""
        with self._lock:
            now = self._clock()
            window = self._windows.setdefault(tenant_key, _Window())
            window.answers.append(now)
            if status == 429 or status >= 500:
                window.trouble.append(now)
            elif status >= 400:
                window.refusals.append(now)
            window.expire(now, self.window)
            if self._trips(window):
                self._paused_until[tenant_key] = now + self.pause
                # Start afresh after the pause instead of re-engaging on the next single error.
                del self._windows[tenant_key]

    def record_error(self, tenant_key: str) -> None:
        """Count a refusal (a 4xx answer)."""
        self.record_answer(tenant_key, 400)

    def reset(self, tenant_key: str | None = None) -> None:
        """Forget all state (tests) or one tenant's state (e.g. after a new token was stored)."""
        with self._lock:
            if tenant_key is None:
                self._windows.clear()
                self._paused_until.clear()
            else:
                self._windows.pop(tenant_key, None)
                self._paused_until.pop(tenant_key, None)

    def _trips(self, window: _Window) -> bool:
        if len(window.refusals) >= self.max_errors:
            return True
        trouble = len(window.trouble)
        return trouble >= self.max_errors and trouble >= self.trouble_share * len(window.answers)

    def _remaining(self, tenant_key: str, now: float) -> float:
        until = self._paused_until.get(tenant_key)
        if until is None:
            return 0.0
        if now >= until:
            del self._paused_until[tenant_key]
            return 0.0
        return until - now


# Shared by every client in the process so that all calls for one tenant count together.
default_brake = ErrorBrake()
