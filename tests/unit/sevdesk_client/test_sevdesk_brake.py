"""The per-tenant error brake protects a token from being blocked by sevDesk."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient, default_brake
from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskBrakeEngaged,
    SevdeskOutOfTime,
    SevdeskServerError,
    SevdeskValidationError,
)
from tests.unit.sevdesk_client.fakes import FakeSevdesk, ok, sevdesk_error

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def small_brake(clock: FakeClock) -> ErrorBrake:
    return ErrorBrake(max_errors=3, window=60.0, pause=120.0, clock=clock)


@pytest.fixture
def braked(make_client: Callable[..., SevdeskClient], small_brake: ErrorBrake) -> SevdeskClient:
    return make_client(brake=small_brake)


def test_brake_engages_after_n_errors_and_sends_nothing(
    braked: SevdeskClient, fake: FakeSevdesk, clock: FakeClock
) -> None:
    fake.always(sevdesk_error(422, "invalid"))
    for _ in range(3):
        with pytest.raises(SevdeskValidationError):
            braked.post("/Contact", json={})
    assert len(fake.requests) == 3

    with pytest.raises(SevdeskBrakeEngaged) as caught:
        braked.get("/Contact")

    assert len(fake.requests) == 3  # nothing sent while engaged
    assert caught.value.resume_in == pytest.approx(120.0)
    assert caught.value.retryable
    assert caught.value.path == "/Contact"


def test_brake_releases_after_the_pause(braked: SevdeskClient, fake: FakeSevdesk, clock: FakeClock) -> None:
    fake.reply(*(sevdesk_error(401, "Authentication required") for _ in range(3)), ok([]))
    for _ in range(3):
        with pytest.raises(SevdeskAuthError):
            braked.get("/Contact")

    clock.now += 119.0
    with pytest.raises(SevdeskBrakeEngaged) as caught:
        braked.get("/Contact")
    assert caught.value.resume_in == pytest.approx(1.0)

    clock.now += 1.0
    assert braked.get("/Contact") == []
    assert len(fake.requests) == 4


def test_errors_age_out_of_the_window(small_brake: ErrorBrake, clock: FakeClock) -> None:
    small_brake.record_error("t")
    small_brake.record_error("t")
    clock.now += 60.0
    small_brake.record_error("t")
    small_brake.record_error("t")
    small_brake.check("t")  # only two errors within the last 60 s
    small_brake.record_error("t")
    with pytest.raises(SevdeskBrakeEngaged):
        small_brake.check("t")


def test_successes_do_not_reset_the_count(braked: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(sevdesk_error(400), ok([]), sevdesk_error(400), ok([]), sevdesk_error(400))
    for _ in range(2):
        with pytest.raises(SevdeskValidationError):
            braked.get("/Contact")
        braked.get("/Contact")
    with pytest.raises(SevdeskValidationError):
        braked.get("/Contact")
    with pytest.raises(SevdeskBrakeEngaged):
        braked.get("/Contact")
    assert len(fake.requests) == 5


def test_retries_count_and_stop_at_the_brake(braked: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(sevdesk_error(500))
    with pytest.raises(SevdeskBrakeEngaged):
        braked.get("/Contact")  # 3 x 500, then the 4th attempt is refused locally
    assert len(fake.requests) == 3


def test_brake_engaged_after_an_unknown_write_still_says_so(braked: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(sevdesk_error(500))
    with pytest.raises(SevdeskBrakeEngaged) as caught:
        braked.post("/Tag/Factory/create", json={}, retry_unsafe=True)
    assert caught.value.outcome_unknown is True


def test_brake_is_per_tenant(small_brake: ErrorBrake) -> None:
    for _ in range(3):
        small_brake.record_error("tenant-a")
    with pytest.raises(SevdeskBrakeEngaged):
        small_brake.check("tenant-a")
    small_brake.check("tenant-b")
    small_brake.reset("tenant-a")
    small_brake.check("tenant-a")


def test_brake_is_thread_safe() -> None:
    brake = ErrorBrake(max_errors=800, window=3600.0)

    def hammer() -> None:
        for _ in range(100):
            brake.record_error("t")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert brake.resume_in("t") > 0  # exactly 800 errors counted → engaged


def test_clients_share_the_default_brake(make_client: Callable[..., SevdeskClient], fake: FakeSevdesk) -> None:
    default_brake.reset()
    try:
        fake.always(sevdesk_error(400))
        first = make_client(brake=None, tenant_key="shared")
        second = make_client(brake=None, tenant_key="shared")
        for _ in range(default_brake.max_errors):
            with pytest.raises(SevdeskValidationError):
                first.get("/Contact")
        with pytest.raises(SevdeskBrakeEngaged):
            second.get("/Contact")
    finally:
        default_brake.reset()


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        ErrorBrake(max_errors=0)


def test_server_errors_count_too(braked: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(sevdesk_error(503))
    with pytest.raises(SevdeskServerError):
        braked.post("/Contact", json={})  # not retried: unknown outcome of a POST
    assert len(fake.requests) == 1


def test_sporadic_server_trouble_does_not_pause_a_busy_tenant(small_brake: ErrorBrake, clock: FakeClock) -> None:
    """10 % 5xx and 5 % 429 are weather, retried with backoff: pausing the tenant would only slow it."""
    for i in range(400):
        clock.now += 0.1
        small_brake.record_answer("t", 503 if i % 10 == 0 else 429 if i % 20 == 5 else 200)
        small_brake.check("t")


def test_server_trouble_pauses_when_it_dominates(small_brake: ErrorBrake, clock: FakeClock) -> None:
    for status in (200, 503, 200, 502):
        small_brake.record_answer("t", status)
    small_brake.check("t")  # 2 of 4: fewer than max_errors
    small_brake.record_answer("t", 429)  # 3 of 5 answers are trouble, and 3 = max_errors
    with pytest.raises(SevdeskBrakeEngaged):
        small_brake.check("t")


def test_refusals_pause_however_many_calls_succeed(small_brake: ErrorBrake, clock: FakeClock) -> None:
    for _ in range(100):
        small_brake.record_answer("t", 200)
    small_brake.record_answer("t", 422)
    small_brake.record_answer("t", 404)
    small_brake.check("t")
    small_brake.record_answer("t", 409)
    with pytest.raises(SevdeskBrakeEngaged):
        small_brake.check("t")


def test_a_brake_pause_is_a_pause_not_a_failure() -> None:
    engaged = SevdeskBrakeEngaged("paused", resume_in=42.0)
    assert engaged.retryable and engaged.pause_seconds == 42.0
    assert SevdeskServerError("boom").pause_seconds is None


def test_no_call_is_started_without_time_to_finish_it(
    make_client: Callable[..., SevdeskClient], fake: FakeSevdesk
) -> None:
    left = {"seconds": 30.0}
    client = make_client(timeout=20.0, time_left=lambda: left["seconds"])
    fake.always(ok([]))
    assert client.get("/Contact") == []
    left["seconds"] = 19.0
    with pytest.raises(SevdeskOutOfTime) as caught:
        client.get("/Contact")
    assert len(fake.requests) == 1  # nothing sent
    assert caught.value.retryable and not caught.value.outcome_unknown


def test_running_out_of_time_after_an_unknown_write_still_says_so(
    make_client: Callable[..., SevdeskClient], fake: FakeSevdesk
) -> None:
    left = iter([30.0, 5.0])
    client = make_client(timeout=20.0, time_left=lambda: next(left))
    fake.always(sevdesk_error(503))
    with pytest.raises(SevdeskOutOfTime) as caught:
        client.put("/Contact/1", json={"name": "x"})  # safe to resend, but no time for it
    assert caught.value.outcome_unknown
    assert len(fake.requests) == 1
