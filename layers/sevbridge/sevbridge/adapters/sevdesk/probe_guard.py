"""Politeness for token tests (`PUT …/connection`, `POST …/connection/test`).

Token tests are the one place where the *caller* decides which token we show sevDesk, so the rules
differ from the workers' error brake (which protects a stored, working token from being blocked):

- A token sevDesk rejected (401) is remembered per tenant for `remember_rejected` seconds and answered
  from memory: a token never comes back to life, and a client retrying the same wrong token in a loop
  then costs sevDesk nothing.
- Rejected tokens (401/403) do not feed any brake — there is no working token to protect, and the
  next, valid token must not be paused by them. They are counted instead, per tenant and per platform;
  past the limit further tests are refused for the rest of the window (RateLimited → 429 with
  Retry-After: the caller caused it and can act on it). This keeps one platform's loop from making
  sevbridge look abusive to sevDesk, for every tenant.
- sevDesk failures (5xx, 429, network) do feed a brake, per tenant: while sevDesk struggles, tests pause
  and the answer is 503 with Retry-After.

State lives in the process, like the workers' brake: a cheap first line of defence; API Gateway's stage
throttling bounds what many concurrent containers could add up to.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sevbridge.adapters.sevdesk.brake import ErrorBrake
from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskBrakeEngaged,
    SevdeskError,
    TokenTestsExhausted,
)


@dataclass(frozen=True)
class ProbeLimits:
    rejected_per_tenant: int = 10
    rejected_per_platform: int = 60
    window: float = 60.0
    remember_rejected: float = 600.0


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)


class ProbeGuard:
    def __init__(
        self,
        limits: ProbeLimits | None = None,
        *,
        upstream_brake: ErrorBrake | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or ProbeLimits()
        # A failed test costs sevDesk up to two requests; five in a minute pause the tenant's tests briefly.
        self.upstream_brake = upstream_brake or ErrorBrake(max_errors=5, window=60.0, pause=60.0, clock=clock)
        self._clock = clock
        self._lock = threading.Lock()
        self._rejections: dict[str, _Window] = {}
        self._rejected_tokens: dict[tuple[str, str], float] = {}

    def __repr__(self) -> str:
        return f"ProbeGuard({self.limits})"

    def before(self, token: str, tenant_key: str) -> None:
        """Raises instead of calling sevDesk: a remembered rejection, a paused tenant, a used-up limit."""
        now = self._clock()
        with self._lock:
            expires = self._rejected_tokens.get((tenant_key, _digest(token)))
            if expires is not None and now < expires:
                raise SevdeskAuthError("Authentication required (sevDesk rejected this token moments ago)", status=401)
            wait = max(
                self._wait(tenant_key, self.limits.rejected_per_tenant, now),
                self._wait(_platform_scope(tenant_key), self.limits.rejected_per_platform, now),
            )
        if wait > 0:
            raise TokenTestsExhausted(
                f"too many rejected sevDesk tokens for this tenant or platform in the last "
                f"{self.limits.window:.0f} s; sevDesk is not asked again for {wait:.0f} s",
                retry_after=wait,
            )
        self.upstream_brake.check(tenant_key)

    def failed(self, token: str, tenant_key: str, exc: SevdeskError) -> None:
        """Records the outcome of a test that sevDesk answered with an error (or did not answer)."""
        now = self._clock()
        if isinstance(exc, SevdeskAuthError):
            with self._lock:
                for scope in (tenant_key, _platform_scope(tenant_key)):
                    self._rejections.setdefault(scope, _Window()).times.append(now)
                if exc.status == 401:  # 403 (no API access) can change with the sevDesk plan: not remembered
                    self._forget_expired(now)
                    self._rejected_tokens[(tenant_key, _digest(token))] = now + self.limits.remember_rejected
        elif not isinstance(exc, SevdeskBrakeEngaged | TokenTestsExhausted):  # our own refusals are no errors
            self.upstream_brake.record_error(tenant_key)

    def _wait(self, scope: str, limit: int, now: float) -> float:
        window = self._rejections.get(scope)
        if window is None:
            return 0.0
        while window.times and now - window.times[0] >= self.limits.window:
            window.times.popleft()
        if not window.times:
            del self._rejections[scope]
            return 0.0
        if len(window.times) < limit:
            return 0.0
        # Free again once enough of the counted rejections have left the window.
        return window.times[len(window.times) - limit] + self.limits.window - now

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, expires in self._rejected_tokens.items() if expires <= now]:
            del self._rejected_tokens[key]


def _digest(token: str) -> str:
    # Only a digest is kept: the guard must not become another place that holds tokens.
    return hashlib.sha256(token.encode()).hexdigest()


def _platform_scope(tenant_key: str) -> str:
    # tenant_key is "<platform id>#<tenant id>" (domain.connections.tenant_key); tenant ids hold no '#'.
    return "platform:" + tenant_key.partition("#")[0]
