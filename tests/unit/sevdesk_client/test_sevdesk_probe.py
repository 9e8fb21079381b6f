"""HttpSevdeskProbe: the token test behind the domain's SevdeskProbe port."""

from __future__ import annotations

import httpx
import pytest

from sevbridge.adapters.sevdesk import HttpSevdeskProbe
from sevbridge.adapters.sevdesk.probe_guard import ProbeGuard
from sevbridge.domain.connection import SevdeskIdentity
from sevbridge.domain.ports import SevdeskProbe
from sevbridge.domain.sevdesk_errors import SevdeskAuthError, SevdeskError, SevdeskServerError
from tests.unit.sevdesk_client.fakes import BASE_URL, TOKEN, FakeSevdesk, ok, sevdesk_error

pytestmark = pytest.mark.unit


@pytest.fixture
def probe(http: httpx.Client, sleeps: list[float]) -> HttpSevdeskProbe:
    return HttpSevdeskProbe(BASE_URL, http=http, guard=ProbeGuard(), sleep=sleeps.append)


def test_probe_satisfies_the_port(probe: HttpSevdeskProbe) -> None:
    port: SevdeskProbe = probe
    assert port is probe


def test_identify_reads_version_and_user(probe: HttpSevdeskProbe, fake: FakeSevdesk) -> None:
    fake.reply(
        ok({"version": "2.0"}),
        ok([{"id": "12", "fullname": "Erika Mustermann", "sevClient": {"id": "99", "name": "Muster GmbH"}}]),
    )

    identity = probe.identify(TOKEN, tenant_key="platform-a:tenant-1")

    assert identity == SevdeskIdentity(
        bookkeeping_system_version="2.0",
        user_id="12",
        user_name="Erika Mustermann",
        client_id="99",
        client_name="Muster GmbH",
    )
    assert [r.url.path for r in fake.requests] == [
        "/api/v1/Tools/bookkeepingSystemVersion",
        "/api/v1/SevUser",
    ]
    assert all(r.headers["Authorization"] == TOKEN for r in fake.requests)


def test_invalid_token_raises_auth_error_without_retry(probe: HttpSevdeskProbe, fake: FakeSevdesk) -> None:
    fake.always(sevdesk_error(401, "Authentication required"))
    with pytest.raises(SevdeskAuthError):
        probe.identify(TOKEN, tenant_key="t")
    assert len(fake.requests) == 1


def test_refused_user_lookup_keeps_the_proven_version(probe: HttpSevdeskProbe, fake: FakeSevdesk) -> None:
    fake.reply(ok({"version": "2.0"}), sevdesk_error(400, "Bad request"))
    assert probe.identify(TOKEN, tenant_key="t") == SevdeskIdentity(bookkeeping_system_version="2.0")


def test_probe_retries_little(probe: HttpSevdeskProbe, fake: FakeSevdesk, sleeps: list[float]) -> None:
    fake.always(sevdesk_error(503))
    with pytest.raises(SevdeskServerError):
        probe.identify(TOKEN, tenant_key="t")
    assert len(fake.requests) == 2  # a platform is waiting on this call
    assert all(s <= 2.0 for s in sleeps)


def test_a_rejected_token_is_answered_from_memory(probe: HttpSevdeskProbe, fake: FakeSevdesk) -> None:
    fake.always(sevdesk_error(401, "Authentication required"))
    for _ in range(5):
        with pytest.raises(SevdeskAuthError):
            probe.identify(TOKEN, tenant_key="p#t")
    assert len(fake.requests) == 1  # a client looping on the same wrong token costs sevDesk one request


def test_token_tests_do_not_touch_the_workers_brake(probe: HttpSevdeskProbe, fake: FakeSevdesk) -> None:
    from sevbridge.adapters.sevdesk.brake import default_brake

    default_brake.reset()
    fake.always(sevdesk_error(503))
    for _ in range(6):
        with pytest.raises(SevdeskError):
            probe.identify(TOKEN, tenant_key="p#t")
    assert default_brake.resume_in("p#t") == 0  # the stored token's brake in the workers is not engaged
    assert probe.guard.upstream_brake.resume_in("p#t") > 0  # but token tests pause
