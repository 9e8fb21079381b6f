"""ProbeGuard: which token tests reach sevDesk (rejected tokens are counted, not braked)."""

from __future__ import annotations

import pytest

from sevbridge.adapters.sevdesk.probe_guard import ProbeGuard, ProbeLimits
from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskBrakeEngaged,
    SevdeskServerError,
    TokenTestsExhausted,
)

pytestmark = pytest.mark.unit

TENANT = "plt_a#tenant-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock: Clock) -> ProbeGuard:
    return ProbeGuard(ProbeLimits(rejected_per_tenant=3, rejected_per_platform=5, window=60), clock=clock)


def token(n: int) -> str:
    return f"{n:032x}"


def reject(guard: ProbeGuard, n: int, tenant: str = TENANT, status: int = 401) -> None:
    guard.before(token(n), tenant)
    guard.failed(token(n), tenant, SevdeskAuthError("Authentication required", status=status))


def test_rejected_tokens_are_limited_per_tenant_with_a_retry_hint(guard: ProbeGuard, clock: Clock) -> None:
    for n in range(3):
        reject(guard, n)
        clock.now += 10
    with pytest.raises(TokenTestsExhausted) as refused:
        guard.before(token(99), TENANT)  # a new, possibly valid token: refused until the window frees a slot
    assert refused.value.retry_after == pytest.approx(30)  # the first rejection leaves the window at +60 s
    clock.now += 30
    guard.before(token(99), TENANT)  # free again
    guard.before(token(99), "plt_a#other-tenant")  # other tenants were never limited


def test_the_platform_limit_spans_its_tenants(guard: ProbeGuard) -> None:
    for n in range(5):
        reject(guard, n, tenant=f"plt_a#t{n}")
    with pytest.raises(TokenTestsExhausted):
        guard.before(token(50), "plt_a#fresh")
    guard.before(token(50), "plt_b#fresh")  # another platform is not affected


def test_a_remembered_rejection_is_not_counted_again_and_expires(guard: ProbeGuard, clock: Clock) -> None:
    reject(guard, 1)
    for _ in range(10):
        with pytest.raises(SevdeskAuthError):
            guard.before(token(1), TENANT)
    guard.before(token(2), TENANT)  # only one rejection was counted
    clock.now += 601
    guard.before(token(1), TENANT)  # forgotten: sevDesk may be asked again


def test_403_is_counted_but_not_remembered(guard: ProbeGuard) -> None:
    reject(guard, 1, status=403)
    guard.before(token(1), TENANT)  # the plan may gain API access; asking again is allowed


def test_rejections_never_engage_the_upstream_brake(guard: ProbeGuard) -> None:
    for n in range(3):
        reject(guard, n)
    assert guard.upstream_brake.resume_in(TENANT) == 0


def test_sevdesk_failures_pause_token_tests(guard: ProbeGuard, clock: Clock) -> None:
    for _ in range(5):
        guard.before(token(1), TENANT)
        guard.failed(token(1), TENANT, SevdeskServerError("Bad gateway", status=502))
    with pytest.raises(SevdeskBrakeEngaged) as paused:
        guard.before(token(2), TENANT)
    assert 0 < paused.value.resume_in <= 60
    clock.now += 61
    guard.before(token(2), TENANT)


def test_only_a_digest_of_the_token_is_kept(guard: ProbeGuard) -> None:
    reject(guard, 7)
    assert token(7) not in repr(vars(guard))
