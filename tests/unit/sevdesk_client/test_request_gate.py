"""The per-tenant request gate: requests in flight per tenant, and quiet after a 429 with Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from sevbridge.adapters.sevdesk import SevdeskClient
from sevbridge.adapters.sevdesk.gate import RequestGate
from sevbridge.domain.sevdesk_errors import SevdeskRateLimited
from tests.unit.sevdesk_client.fakes import FakeSevdesk, sevdesk_error


def test_one_request_per_tenant_at_a_time_other_tenants_unaffected() -> None:
    gate = RequestGate(in_flight=1)
    inside: list[str] = []
    peak = {"a": 0, "b": 0}
    lock = threading.Lock()

    def request(tenant: str) -> None:
        with gate.slot(tenant):
            with lock:
                inside.append(tenant)
                peak[tenant] = max(peak[tenant], inside.count(tenant))
            time.sleep(0.02)
            with lock:
                inside.remove(tenant)

    threads = [threading.Thread(target=request, args=(t,)) for t in "aaabbb"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == {"a": 1, "b": 1}


def test_after_a_429_with_retry_after_nothing_of_that_tenant_is_sent_until_it_passed() -> None:
    now = [0.0]
    gate = RequestGate(clock=lambda: now[0])
    gate.quiet("a", 30)
    with pytest.raises(SevdeskRateLimited) as refused, gate.slot("a"):
        pass
    assert refused.value.retry_after == pytest.approx(30) and refused.value.status is None
    with gate.slot("b"):
        pass  # another tenant is not held
    now[0] = 30.0
    with gate.slot("a"):
        pass


def test_a_429_without_retry_after_does_not_quiet_the_tenant() -> None:
    gate = RequestGate(clock=lambda: 0.0)
    gate.quiet("a", None)
    with gate.slot("a"):
        pass


def test_the_client_quiets_the_tenant_on_a_long_retry_after(
    make_client: Callable[..., SevdeskClient], fake: FakeSevdesk, gate: RequestGate
) -> None:
    fake.reply(sevdesk_error(429, "Too many requests", headers={"Retry-After": "30"}))
    with pytest.raises(SevdeskRateLimited):
        make_client().get("/Contact")
    sent = len(fake.requests)
    with pytest.raises(SevdeskRateLimited) as refused:
        make_client().get("/Unity")  # another lane of the same tenant
    assert len(fake.requests) == sent  # not sent
    assert refused.value.retry_after is not None and refused.value.retry_after > 29
