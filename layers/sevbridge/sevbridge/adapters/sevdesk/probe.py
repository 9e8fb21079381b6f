"""The token test (C2): which sevDesk account and user does a token belong to?"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from sevbridge.adapters.sevdesk.brake import ErrorBrake
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.probe_guard import ProbeGuard
from sevbridge.adapters.sevdesk.transport import default_http_client
from sevbridge.domain.connection import SevdeskIdentity
from sevbridge.domain.sevdesk_errors import SevdeskError, SevdeskNotFound, SevdeskValidationError

logger = logging.getLogger(__name__)

# The token test makes two calls (bookkeeping version, user); within a time budget each gets half of it,
# so both fit, and none gets less than this (with less, the test is not started: SevdeskOutOfTime).
CALLS_PER_TEST = 2
SHORTEST_CALL_SECONDS = 1.0


def call_timeout(configured: float, budget: float) -> float:
    """Each call's timeout when the whole test must end within `budget` seconds."""
    return max(SHORTEST_CALL_SECONDS, min(configured, budget / CALLS_PER_TEST))


class HttpSevdeskProbe:
    """Implements domain.ports.SevdeskProbe against the real API (or the sandbox).

    A platform waits on this call synchronously, so retries are few and short by default, and with
    `time_left` (the api invocation's deadline) no call is started or left running past it: the
    caller then answers 503 + Retry-After itself instead of API Gateway's bare 504. The guard
    (probe_guard.py) decides whether sevDesk is asked at all; the client's own brake is a fresh one per
    test, so token tests neither feed nor wait for the brake that protects a tenant's stored token in
    the workers.
    """

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        max_attempts: int = 2,
        max_backoff: float = 2.0,
        guard: ProbeGuard | None = None,
        sleep: Callable[[float], None] = time.sleep,
        time_left: Callable[[], float | None] | None = None,
    ) -> None:
        self.base_url = base_url
        self._http = http
        self._time_left = time_left
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        self.guard = guard or ProbeGuard()
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"HttpSevdeskProbe(base_url={self.base_url!r})"

    def _remaining(self) -> float:
        left = self._time_left() if self._time_left is not None else None
        return float("inf") if left is None else left

    def identify(self, token: str, *, tenant_key: str) -> SevdeskIdentity:
        self.guard.before(token, tenant_key)
        try:
            return self._identify(token, tenant_key)
        except SevdeskError as exc:
            self.guard.failed(token, tenant_key, exc)
            raise

    def _identify(self, token: str, tenant_key: str) -> SevdeskIdentity:
        budget = self._time_left() if self._time_left is not None else None
        client = SevdeskClient(
            token,
            base_url=self.base_url,
            tenant_key=tenant_key,
            # One pool for every per-call timeout below (the shared clients are kept per timeout).
            http=self._http or default_http_client(self._timeout),
            timeout=self._timeout if budget is None else call_timeout(self._timeout, budget),
            max_attempts=self._max_attempts,
            max_backoff=self._max_backoff,
            brake=ErrorBrake(),
            sleep=self._sleep,
            time_left=None if budget is None else self._remaining,
        )
        # Proves the token (401 otherwise) and that the account runs Update 2.0.
        version = client.bookkeeping_system_version()
        try:
            user = client.current_user()
        except (SevdeskNotFound, SevdeskValidationError) as exc:
            # /SevUser is only in the community spec; the token is already proven good, so a
            # refusal here costs us the user's name, not the connection.
            logger.warning("sevdesk token test: user lookup refused (%s)", exc)
            return SevdeskIdentity(bookkeeping_system_version=version)
        return SevdeskIdentity(
            bookkeeping_system_version=version,
            user_id=user.id,
            user_name=user.fullname or user.username,
            client_id=user.client_id,
            client_name=user.client_name,
        )
