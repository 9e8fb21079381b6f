"""The token test ends in time for the api function's own answer (review of issue 7): a hanging sevDesk
made `PUT …/connection` answer after 40 s, past the function's 29 s timeout; deployed, API Gateway would
have answered a bare 504. The probe now gets the invocation's remaining time minus a reserve."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sevbridge import wiring
from sevdesk_sandbox.faults import Fault
from tests.support.api_client import HandlerApiClient

pytestmark = pytest.mark.functional

FUNCTION_TIMEOUT = 8  # seconds the fake context reports; the reserve for the answer is 4 s


@pytest.fixture
def slow_probe(monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    # Production's per-call timeout: alone it would let two attempts run 40 s.
    monkeypatch.setenv("SEVDESK_TIMEOUT_SECONDS", "20")
    wiring.reset()


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/v1/tenants/t-slow/connection"), ("POST", "/v1/tenants/t-slow/connection/test")],
)
def test_a_hanging_sevdesk_gets_our_503_before_the_function_times_out(
    slow_probe: None, api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any, method: str, path: str
) -> None:
    if method == "POST":  # the stored token is tested again: connect first, while sevDesk is fast
        assert (
            api.put("/v1/tenants/t-slow/connection", json_body={"sevdesk_token": sevdesk_account.token}).status == 201
        )
    sandbox_state.add_fault(Fault(kind="latency", delay_seconds=60, path_pattern="^/Tools/bookkeepingSystemVersion$"))
    api.timeout_seconds = FUNCTION_TIMEOUT

    started = time.monotonic()
    body = {"sevdesk_token": sevdesk_account.token} if method == "PUT" else None
    answer = api.request(method, path, json_body=body)
    elapsed = time.monotonic() - started

    if method == "PUT":  # nothing stored: our own 503 with the time to wait
        assert answer.status == 503, answer.body
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.json["error"]["code"] == "sevdesk_unavailable"
    else:  # the test endpoint reports the outcome of the test itself
        assert answer.status == 200, answer.body
        assert answer.json["ok"] is False and answer.json["reason"] == "sevdesk_unavailable"
    assert elapsed < FUNCTION_TIMEOUT, f"answered after {elapsed:.1f} s, past the {FUNCTION_TIMEOUT} s timeout"
