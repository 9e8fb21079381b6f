"""Per-tenant error brake.

sevDesk may block a token whose requests produce many errors (api-facts §2). The brake counts error
answers (4xx including 401, 429, 5xx) per tenant in a sliding window; once the limit is reached it
refuses further calls for a pause, without sending anything. Successful calls do not reset the
count: errors only age out, so alternating success/failure cannot keep hammering sevDesk.

The state lives in the process (one Lambda container); FIFO message groups keep one tenant's work
serial, which makes a per-process brake a useful, cheap first line of defence.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from sevbridge.domain.sevdesk_errors import SevdeskBrakeEngaged


class ErrorBrake:
    def __init__(
        self,
        *,
        max_errors: int = 10,
        window: float = 60.0,
        pause: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_errors < 1 or window <= 0 or pause < 0:
            raise ValueError("max_errors must be >= 1, window > 0 and pause >= 0")
        self.max_errors = max_errors
        self.window = window
        self.pause = pause
        self._clock = clock
        self._lock = threading.Lock()
        self._errors: dict[str, deque[float]] = {}
        self._paused_until: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"ErrorBrake(max_errors={self.max_errors}, window={self.window}, pause={self.pause})"

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

    def record_error(self, tenant_key: str) -> None:
        with self._lock:
            now = self._clock()
            errors = self._errors.setdefault(tenant_key, deque())
            errors.append(now)
            self._expire(errors, now)
            if len(errors) >= self.max_errors:
                self._paused_until[tenant_key] = now + self.pause
                # Start afresh after the pause instead of re-engaging on the next single error.
                del self._errors[tenant_key]

    def reset(self, tenant_key: str | None = None) -> None:
        """Forget all state (tests) or one tenant's state (e.g. after a new token was stored)."""
        with self._lock:
            if tenant_key is None:
                self._errors.clear()
                self._paused_until.clear()
            else:
                self._errors.pop(tenant_key, None)
                self._paused_until.pop(tenant_key, None)

    def _remaining(self, tenant_key: str, now: float) -> float:
        until = self._paused_until.get(tenant_key)
        if until is None:
            return 0.0
        if now >= until:
            del self._paused_until[tenant_key]
            return 0.0
        return until - now

    def _expire(self, errors: deque[float], now: float) -> None:
        while errors and now - errors[0] >= self.window:
            errors.popleft()


# Shared by every client in the process so that all calls for one tenant count together.
default_brake = ErrorBrake()
