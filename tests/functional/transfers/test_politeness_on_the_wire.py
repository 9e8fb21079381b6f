"""What sevDesk sees of one tenant's batch run in lanes against a slow sevDesk (adapters/sevdesk/gate.py):
never more than SEVDESK_TENANT_REQUESTS_IN_FLIGHT requests at once, and in any second in which two were
on the wire at once, at most SEVDESK_TENANT_REQUESTS_PER_SECOND requests. Read from the sandbox's request
log (arrival time and duration of every request); real api and worker handlers, moto, the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from sevbridge import wiring
from sevdesk_sandbox.faults import Fault
from sevdesk_sandbox.request_log import RequestLogEntry, busiest_second, most_on_the_wire
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
LATENCY = 0.05
PER_SECOND = 20  # with LATENCY: the rate binds within the batch, which stays short


def _invoice(source_id: str) -> Any:
    return load_event(
        "platform-invoice-upserted.json",
        id=f"evt-{source_id}",
        data__source_id=source_id,
        data__number=f"PL-{source_id}",
    )


def test_a_slow_sevdesk_sees_two_at_once_at_most_and_no_more_than_the_rate_per_second(
    api: HandlerApiClient,
    connected: Any,
    sandbox_state: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEVDESK_TENANT_REQUESTS_PER_SECOND", str(PER_SECOND))
    wiring.reset()
    assert api.post(EVENTS, json_body=_invoice("warm-up")).status == 202
    assert drain(aws) == 1  # customer mapped, reference data cached: 3 requests per invoice from here
    before = len(sandbox_state.requests(connected.account_id))
    events = [_invoice(f"I{i}") for i in range(20)]
    assert api.post(EVENTS, json_body={"events": events}).status == 202
    sandbox_state.add_fault(Fault(kind="latency", delay_seconds=LATENCY, times=None))

    assert drain(aws) == 20

    sandbox_state.clear_faults()
    log = sandbox_state.requests(connected.account_id)[before:]
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 21
    assert len(log) == 60
    assert most_on_the_wire(log) == 2, "lanes never used the second slot: nothing was tested"
    assert busiest_second(log, overlapped_only=True) <= PER_SECOND


def test_the_log_checks_count_what_they_should() -> None:
    """The log's readings (sevdesk_sandbox/request_log.py) on hand-made logs: they can fail."""

    def entry(received: float, seconds: float) -> RequestLogEntry:
        return RequestLogEntry("GET", "/x", {}, None, 200, "a", at=None, received=received, seconds=seconds)  # type: ignore[arg-type]

    serial = [entry(i * 0.01, 0.005) for i in range(50)]
    assert most_on_the_wire(serial) == 1 and busiest_second(serial, overlapped_only=True) == 0
    crowded = [entry(i / 16, 1 / 8) for i in range(40)]  # binary fractions: no rounding at the edges
    assert most_on_the_wire(crowded) == 2 and busiest_second(crowded, overlapped_only=True) == 16
    assert busiest_second(serial) == 50  # 50 in half a second, one after the other
    three = [entry(0, 1), entry(0.1, 1), entry(0.2, 1)]
    assert most_on_the_wire(three) == 3
