"""Per-tenant request gate: how many of a tenant's sevDesk requests are in flight at once, and when
sevDesk asked the tenant to be quiet.

sevDesk publishes no rate limit but may block a token; the fact sheet's advice is a serial stream per
tenant. The transfer worker runs a tenant's batch in lanes (domain/lanes.py) so that our own work
overlaps sevDesk's answers; this gate keeps what sevDesk sees as it was: at most `in_flight` requests
per tenant at a time (default 1: at 100 ms per answer, at most 10 requests per second), and after a 429
no request of that tenant from any lane until its Retry-After has passed. A request that would have to
wait out such a hint is refused here like the 429 itself, without being sent: the retry policy waits
in place for a short hint and pauses the transfer (the whole tenant group) for a long one.

The state lives in the process, like the error brake; FIFO keeps one batch of a tenant in flight at a
time across all workers, so for the transfer worker it is per tenant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sevbridge.domain.sevdesk_errors import SevdeskRateLimited


@dataclass
class _Tenant:
    slots: threading.Semaphore
    quiet_until: float = field(default=float("-inf"))


class RequestGate:
    def __init__(self, *, in_flight: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        if in_flight < 1:
            raise ValueError("in_flight must be >= 1")
        self.in_flight = in_flight
        self._clock = clock
        self._lock = threading.Lock()
        self._tenants: dict[str, _Tenant] = {}

    def __repr__(self) -> str:
        return f"RequestGate(in_flight={self.in_flight})"

    def configure(self, in_flight: int) -> None:
        """Applies a new limit to tenants seen from now on (config is read once per process)."""
        if in_flight < 1:
            raise ValueError("in_flight must be >= 1")
        with self._lock:
            if in_flight != self.in_flight:
                self.in_flight = in_flight
                self._tenants.clear()

    @contextmanager
    def slot(self, tenant_key: str) -> Iterator[None]:
        """Held while one request of the tenant is on the wire. Raises SevdeskRateLimited (nothing
        sent) while sevDesk's last 429 for this tenant asks for quiet."""
        tenant = self._tenant(tenant_key)
        with tenant.slots:
            quiet = tenant.quiet_until - self._clock()
            if quiet > 0:
                raise SevdeskRateLimited(
                    f"sevDesk asked this tenant to wait; {quiet:.1f}s left, request not sent", retry_after=quiet
                )
            yield

    def quiet(self, tenant_key: str, seconds: float | None) -> None:
        """sevDesk answered 429 with Retry-After: no request of this tenant for `seconds`. Without a hint
        only the throttled call backs off (jittered); with one slot per tenant the others queue behind it."""
        if seconds is None or seconds <= 0:
            return
        tenant = self._tenant(tenant_key)
        until = self._clock() + seconds
        with self._lock:
            tenant.quiet_until = max(tenant.quiet_until, until)

    def reset(self) -> None:
        """Forget every tenant (tests)."""
        with self._lock:
            self._tenants.clear()

    def _tenant(self, tenant_key: str) -> _Tenant:
        with self._lock:
            tenant = self._tenants.get(tenant_key)
            if tenant is None:
                tenant = self._tenants[tenant_key] = _Tenant(threading.BoundedSemaphore(self.in_flight))
            return tenant


# Shared by every client in the process so that all requests of one tenant count together.
default_gate = RequestGate()
