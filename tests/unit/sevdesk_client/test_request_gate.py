"""The per-tenant request gate: a serial stream always, a further request only under the rate, quiet
after a 429 with Retry-After. Policy tests run on a fake clock through the non-blocking `try_enter`;
the blocking `slot` is exercised with real threads."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sevbridge.adapters.sevdesk import SevdeskClient
from sevbridge.adapters.sevdesk.gate import WINDOW, RequestGate
from sevbridge.config import ConfigError, get_settings, reset_settings
from sevbridge.domain.sevdesk_errors import SevdeskRateLimited
from sevdesk_sandbox.request_log import RequestLogEntry, busiest_second, most_on_the_wire
from tests.unit.sevdesk_client.fakes import FakeSevdesk, sevdesk_error


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def gate_on(clock: Clock, *, in_flight: int = 2, per_second: int = 10) -> RequestGate:
    return RequestGate(in_flight=in_flight, per_second=per_second, clock=clock)


def test_a_serial_stream_is_never_held_whatever_its_rate(clock: Clock) -> None:
    gate = gate_on(clock, per_second=3)
    for _ in range(50):  # 50 requests in half a second, one after the other
        assert gate.try_enter("a") is None
        clock.now += 0.01
        gate.leave("a")


def test_a_further_request_waits_until_the_first_has_waited_its_patience(clock: Clock) -> None:
    gate = gate_on(clock)
    assert gate.try_enter("a") is None
    wait = gate.try_enter("a")
    assert wait == pytest.approx(gate.patience) == pytest.approx(0.05)
    clock.now += gate.patience
    assert gate.try_enter("a") is None  # second slot
    assert gate.try_enter("a") == math.inf  # never a third: only a request ending frees one


def test_the_extra_slot_is_refused_at_the_rate_and_freed_as_the_window_slides(clock: Clock) -> None:
    gate = gate_on(clock, per_second=4)
    answers = []
    for _ in range(3):  # three serial requests: fewer than 4 count in the window
        assert gate.try_enter("a") is None
        clock.now += 0.1
        gate.leave("a")
        answers.append(clock.now)
    assert gate.try_enter("a") is None  # the 4th, serial
    clock.now += gate.patience
    wait = gate.try_enter("a")  # a 5th beside it: 4 count within the window
    assert wait == pytest.approx(answers[0] + WINDOW - clock.now)
    assert wait is not None
    clock.now += wait
    assert gate.try_enter("a") is None  # the first answer left the window


def test_a_request_counts_until_a_second_after_its_answer_wherever_it_reached_sevdesk(clock: Clock) -> None:
    gate = gate_on(clock, per_second=2)
    assert gate.try_enter("a") is None  # a slow one: started at 100, answered at 100.9
    clock.now += 0.9
    gate.leave("a")
    clock.now += 0.7  # its start is 1.6 s ago, its answer 0.7 s: it may have arrived 0.7 s ago
    assert gate.try_enter("a") is None  # serial: not paced
    clock.now += gate.patience
    assert gate.try_enter("a") is not None  # paced: the slow one and this one count, 2 of 2
    clock.now = 100.9 + WINDOW
    assert gate.try_enter("a") is None


def test_after_an_overlap_even_the_serial_slot_counts_for_a_second(clock: Clock) -> None:
    gate = gate_on(clock, per_second=3)
    assert gate.try_enter("a") is None
    clock.now += gate.patience
    assert gate.try_enter("a") is None  # overlap: 2 on the wire
    gate.leave("a")
    gate.leave("a")
    overlap_ended = clock.now
    assert gate.try_enter("a") is None  # 3rd start in the window
    gate.leave("a")
    wait = gate.try_enter("a")  # serial, but within a second of the overlap and at the rate
    assert wait is not None and wait > 0
    clock.now = overlap_ended + WINDOW
    assert gate.try_enter("a") is None  # a second without overlap: a serial stream again, unpaced
    gate.leave("a")
    assert gate.try_enter("a") is None


def test_one_in_flight_is_a_plain_serial_stream(clock: Clock) -> None:
    gate = gate_on(clock, in_flight=1)
    assert gate.try_enter("a") is None
    clock.now += 5
    assert gate.try_enter("a") == math.inf
    gate.leave("a")
    assert gate.try_enter("a") is None


def test_tenants_do_not_share_slots_or_rates(clock: Clock) -> None:
    gate = gate_on(clock, in_flight=1)
    assert gate.try_enter("a") is None
    assert gate.try_enter("b") is None


def test_after_a_429_with_retry_after_no_slot_of_that_tenant_is_used_until_it_passed(clock: Clock) -> None:
    gate = gate_on(clock)
    assert gate.try_enter("a") is None  # one request on the wire gets the 429 …
    gate.quiet("a", 30)
    gate.leave("a")
    for _ in range(2):  # … and neither the serial slot nor the extra one is used
        with pytest.raises(SevdeskRateLimited) as refused:
            gate.try_enter("a")
        assert refused.value.retry_after == pytest.approx(30) and refused.value.status is None
    assert gate.try_enter("b") is None  # another tenant is not held
    clock.now += 30
    assert gate.try_enter("a") is None
    clock.now += gate.patience
    assert gate.try_enter("a") is None


def test_a_request_ending_after_its_tenant_was_forgotten_frees_nothing_twice(clock: Clock) -> None:
    gate = gate_on(clock, in_flight=1)
    assert gate.try_enter("a") is None
    gate.configure(1, 5)  # new limits: tenants are forgotten, this request is still on the wire
    assert gate.try_enter("a") is None
    gate.leave("a")
    gate.leave("a")  # the one from before the change: no slot to free, and none goes negative
    assert gate.try_enter("a") is None
    assert gate.try_enter("a") == math.inf


def test_a_429_without_retry_after_does_not_quiet_the_tenant(clock: Clock) -> None:
    gate = gate_on(clock)
    gate.quiet("a", None)
    assert gate.try_enter("a") is None


@pytest.mark.parametrize("kwargs", [{"in_flight": 0}, {"per_second": 0}])
def test_limits_below_one_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RequestGate(**kwargs)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SEVDESK_TENANT_REQUESTS_IN_FLIGHT", "0"),
        ("SEVDESK_TENANT_REQUESTS_IN_FLIGHT", "11"),
        ("SEVDESK_TENANT_REQUESTS_PER_SECOND", "0"),
        ("SEVDESK_TENANT_REQUESTS_PER_SECOND", "ten"),
    ],
)
def test_a_bad_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    from tests.unit.test_retry_settings import REQUIRED

    for name, required in REQUIRED.items():
        monkeypatch.setenv(str(name), required)
    monkeypatch.setenv(variable, value)
    reset_settings()
    try:
        with pytest.raises(ConfigError, match=variable):
            get_settings()
    finally:
        reset_settings()


def test_defaults_are_two_in_flight_and_ten_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.test_retry_settings import settings

    assert (settings().sevdesk_tenant_requests_in_flight, settings().sevdesk_tenant_requests_per_second) == (2, 10)
    assert (RequestGate().in_flight, RequestGate().per_second) == (2, 10)


def test_slot_blocks_on_real_threads_never_more_than_in_flight_and_other_tenants_unaffected() -> None:
    gate = RequestGate(in_flight=2, per_second=100)
    inside: list[str] = []
    peak = {"a": 0, "b": 0}
    lock = threading.Lock()

    def request(tenant: str) -> None:
        with gate.slot(tenant):
            with lock:
                inside.append(tenant)
                peak[tenant] = max(peak[tenant], inside.count(tenant))
            time.sleep(0.03)
            with lock:
                inside.remove(tenant)

    threads = [threading.Thread(target=request, args=(t,)) for t in "aaaabbbb"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == {"a": 2, "b": 2}


def test_a_request_waiting_for_a_slot_is_refused_when_a_429_quiets_the_tenant() -> None:
    gate = RequestGate(in_flight=1)
    refused: list[BaseException] = []
    entered = threading.Event()

    def waiting() -> None:
        entered.wait()
        try:
            with gate.slot("a"):
                pass
        except SevdeskRateLimited as exc:
            refused.append(exc)

    thread = threading.Thread(target=waiting)
    with gate.slot("a"):
        thread.start()
        entered.set()
        time.sleep(0.05)  # the other request waits for the only slot
        gate.quiet("a", 30)  # this one's answer: 429, Retry-After 30
    thread.join(timeout=5)
    assert len(refused) == 1


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


@settings(max_examples=60, deadline=None)
@given(
    requests=st.lists(
        st.tuples(
            st.floats(0.001, 0.3),  # how long sevDesk takes
            st.floats(0.0, 1.0),  # where between start and answer it arrived (network, our scheduling)
            st.floats(0.0, 0.03),  # our own work before the lane's next request
        ),
        min_size=20,
        max_size=80,
    ),
    lanes=st.integers(1, 4),
    per_second=st.integers(2, 12),
)
def test_whatever_the_delays_sevdesk_never_sees_more_than_the_rate_in_a_second_with_an_overlap(
    requests: list[tuple[float, float, float]], lanes: int, per_second: int
) -> None:
    """Lanes sending through the gate on a fake clock, each request arriving anywhere between its start
    and its answer: the sevDesk view (arrivals, answers) holds the promise for any timing."""
    clock = Clock()
    gate = gate_on(clock, per_second=per_second)
    queues = [requests[i::lanes] for i in range(lanes)]
    ready = [clock.now] * lanes  # when each lane next asks the gate
    ends: dict[int, float] = {}  # lane -> its request's answer
    log = []
    while any(queues) or ends:
        for lane in range(lanes):
            if lane in ends or not queues[lane] or ready[lane] > clock.now:
                continue
            wait = gate.try_enter("t")
            if wait is None:
                duration, arrival, work = queues[lane].pop(0)
                arrived = clock.now + arrival * duration
                ends[lane] = clock.now + duration
                log.append(entry(arrived, ends[lane] - arrived))
                ready[lane] = ends[lane] + work
            else:
                ready[lane] = clock.now + wait  # inf: until an answer
        upcoming = list(ends.values()) + [r for lane, r in enumerate(ready) if queues[lane] and lane not in ends]
        clock.now = max(clock.now, min(upcoming))
        for lane, end in list(ends.items()):
            if end <= clock.now:
                del ends[lane]
                gate.leave("t")
                ready = [min(r, clock.now) if math.isinf(r) else r for r in ready]
    assert most_on_the_wire(log) <= 2
    assert busiest_second(log, overlapped_only=True) <= per_second


def entry(received: float, seconds: float) -> RequestLogEntry:
    return RequestLogEntry("GET", "/x", {}, None, 200, "t", at=datetime.now(UTC), received=received, seconds=seconds)
