"""Per-tenant request gate: when a tenant's next sevDesk request may go on the wire, and when sevDesk
asked the tenant to be quiet.

sevDesk publishes no rate limit but may block a token; the fact sheet calls two shapes of traffic
polite: a serial stream per tenant, or at most a few requests per second. The gate lets sevDesk see
one of the two, never a mix that is neither:

- **Serial, unpaced.** With nothing of the tenant on the wire and no overlap in the last second, a
  request goes at once: a serial stream, as fast as sevDesk answers (against a fast sevDesk that is
  what a serial client sends, and faster than any rate we would pick).
- **Overlapped, paced.** A further request (up to `in_flight` at once) goes only while fewer than
  `per_second` requests of the tenant *count* in the trailing second, and only once sevDesk has kept
  the tenant's latest request waiting `patience` (half of 1/`per_second`): the extra slot is for a
  slow sevDesk — against a fast one a serial stream already does more, and the stagger spreads the
  requests over the second instead of sending them in pairs. From an overlap until a second after it
  ended every request of the tenant, the serial one included, is paced the same way.

A request counts from its start until a second after its answer: it reached sevDesk somewhere in
between, we cannot know where (the network's and our own scheduling's delays vary), and counted that
long it is in every second sevDesk could count it in. So any second in which sevDesk sees two requests
of a tenant at once holds at most `per_second` arrivals, whatever the delays: of those arrivals, the one
we started last was paced, and all the others counted when it started. A second with more is a serial
stream. (Counting only the starts of the trailing second, with 50 ms of slack, is 3–5 % faster at 100 ms, but
the suite's sandbox then saw `per_second` + 1 whenever a request lingered on its way; with 100 ms
answers a request counts for 1.1 s, which is what holds one tenant at about 9 requests/s.) With
`in_flight` 1 the gate is a plain serial stream, as before the overlap existed.

After a 429 with Retry-After no request of that tenant goes until it has passed, from any slot. A
request that would have to wait out such a hint is refused here like the 429 itself, without being
sent: the retry policy waits in place for a short hint and pauses the transfer (the whole tenant group)
for a long one.

The state lives in the process, like the error brake; FIFO keeps one batch of a tenant in flight at a
time across all transfer workers, so there it is per tenant. A backfill container has its own gate
(one chunk per tenant at a time): a tenant with a backfill running sees two such streams.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sevbridge.domain.sevdesk_errors import SevdeskRateLimited

WINDOW = 1.0
_EPSILON = 1e-9  # a wait computed here and slept exactly is over, whatever the float rounding


@dataclass
class _Tenant:
    on_wire: int = 0
    ended: deque[float] = field(default_factory=deque)  # answers of the trailing WINDOW: they still count
    last_start: float = float("-inf")
    paced_until: float = float("-inf")  # a WINDOW after the last moment two requests were on the wire
    quiet_until: float = float("-inf")


class RequestGate:
    def __init__(
        self, *, in_flight: int = 2, per_second: int = 10, clock: Callable[[], float] = time.monotonic
    ) -> None:
        _check(in_flight, per_second)
        self.in_flight = in_flight
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tenants: dict[str, _Tenant] = {}

    def __repr__(self) -> str:
        return f"RequestGate(in_flight={self.in_flight}, per_second={self.per_second})"

    @property
    def patience(self) -> float:
        """How long the tenant's latest request must have waited on sevDesk before a further one goes."""
        return 0.5 / self.per_second

    def configure(self, in_flight: int, per_second: int) -> None:
        """Applies new limits to tenants seen from now on (config is read once per process)."""
        _check(in_flight, per_second)
        with self._lock:
            if (in_flight, per_second) != (self.in_flight, self.per_second):
                self.in_flight, self.per_second = in_flight, per_second
                self._tenants.clear()

    @contextmanager
    def slot(self, tenant_key: str) -> Iterator[None]:
        """Held while one request of the tenant is on the wire; waits until the policy lets it go.
        Raises SevdeskRateLimited (nothing sent) while sevDesk's last 429 for this tenant asks for quiet."""
        with self._changed:
            while (wait := self._try_enter(tenant_key)) is not None:
                self._changed.wait(None if math.isinf(wait) else wait)
        try:
            yield
        finally:
            self.leave(tenant_key)

    def try_enter(self, tenant_key: str) -> float | None:
        """The policy without waiting: None when the request may go now (it holds a slot until
        `leave`), else the seconds after which to ask again (inf: once a request of the tenant ends)."""
        with self._lock:
            return self._try_enter(tenant_key)

    def leave(self, tenant_key: str) -> None:
        with self._changed:
            tenant = self._tenants.get(tenant_key)
            if tenant is None or tenant.on_wire == 0:  # forgotten (configure, reset) while on the wire
                self._changed.notify_all()  # a request waiting for this slot asks again (as a new tenant)
                return
            now = self._clock()
            if tenant.on_wire >= 2:  # an overlap ends now: a second more of paced starts
                tenant.paced_until = now + WINDOW
            tenant.on_wire -= 1
            tenant.ended.append(now)
            self._changed.notify_all()

    def quiet(self, tenant_key: str, seconds: float | None) -> None:
        """sevDesk answered 429 with Retry-After: no request of this tenant for `seconds`. Without a hint
        only the throttled call backs off (jittered)."""
        if seconds is None or seconds <= 0:
            return
        with self._changed:
            tenant = self._tenant(tenant_key)
            tenant.quiet_until = max(tenant.quiet_until, self._clock() + seconds)
            self._changed.notify_all()  # waiting requests are refused now, not after their wait

    def reset(self) -> None:
        """Forget every tenant (tests)."""
        with self._lock:
            self._tenants.clear()

    def _try_enter(self, tenant_key: str) -> float | None:
        """Called with the lock held."""
        tenant = self._tenant(tenant_key)
        now = self._clock()
        quiet = tenant.quiet_until - now
        if quiet > 0:
            raise SevdeskRateLimited(
                f"sevDesk asked this tenant to wait; {quiet:.1f}s left, request not sent", retry_after=quiet
            )
        ended = tenant.ended
        while ended and ended[0] <= now - WINDOW + _EPSILON:
            ended.popleft()
        if tenant.on_wire >= self.in_flight:
            return math.inf
        if tenant.on_wire == 0 and now >= tenant.paced_until - _EPSILON:
            self._enter(tenant, now)  # serial
            return None
        waits = []
        if tenant.on_wire and now - tenant.last_start < self.patience - _EPSILON:
            waits.append(tenant.last_start + self.patience - now)
        if tenant.on_wire + len(ended) >= self.per_second:  # wait for an answer to leave the window
            waits.append(ended[0] + WINDOW - now if ended else math.inf)
        if not waits:
            self._enter(tenant, now)  # paced
            return None
        if tenant.on_wire == 0:
            waits.append(tenant.paced_until - now)  # then serial again
        return max(min(waits), 0.001)

    def _enter(self, tenant: _Tenant, now: float) -> None:
        tenant.on_wire += 1
        tenant.last_start = now

    def _tenant(self, tenant_key: str) -> _Tenant:
        tenant = self._tenants.get(tenant_key)
        if tenant is None:
            tenant = self._tenants[tenant_key] = _Tenant()
        return tenant


def _check(in_flight: int, per_second: int) -> None:
    if in_flight < 1:
        raise ValueError("in_flight must be >= 1")
    if per_second < 1:
        raise ValueError("per_second must be >= 1")


# Shared by every client in the process so that all requests of one tenant count together.
default_gate = RequestGate()
