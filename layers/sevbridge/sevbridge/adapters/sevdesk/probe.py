"""The token test (C2): which sevDesk account and user does a token belong to?"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from sevbridge.adapters.sevdesk.brake import ErrorBrake
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.probe_guard import ProbeGuard
from sevbridge.domain.connection import SevdeskIdentity
from sevbridge.domain.sevdesk_errors import SevdeskError, SevdeskNotFound, SevdeskValidationError

logger = logging.getLogger(__name__)


class HttpSevdeskProbe:
    """Implements domain.ports.SevdeskProbe against the real API (or the sandbox).

    A platform waits on this call synchronously, so retries are few and short by default. The guard
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
    ) -> None:
        self.base_url = base_url
        self._http = http
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        self.guard = guard or ProbeGuard()
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"HttpSevdeskProbe(base_url={self.base_url!r})"

    def identify(self, token: str, *, tenant_key: str) -> SevdeskIdentity:
        self.guard.before(token, tenant_key)
        try:
            return self._identify(token, tenant_key)
        except SevdeskError as exc:
            self.guard.failed(token, tenant_key, exc)
            raise

    def _identify(self, token: str, tenant_key: str) -> SevdeskIdentity:
        client = SevdeskClient(
            token,
            base_url=self.base_url,
            tenant_key=tenant_key,
            http=self._http,
            timeout=self._timeout,
            max_attempts=self._max_attempts,
            max_backoff=self._max_backoff,
            brake=ErrorBrake(),
            sleep=self._sleep,
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
