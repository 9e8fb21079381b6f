"""Token tests stay polite to sevDesk without locking out a valid token (issue 6 §4, last bullet).

Observed before: ten rejected tokens in a minute engaged the per-tenant error brake, and the next PUT
with a *valid* token answered 503 for two minutes, without Retry-After.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from sevbridge import wiring
from sevbridge.adapters.sevdesk.probe_guard import ProbeGuard
from sevdesk_sandbox.faults import Fault
from tests.support.api_client import ApiResult, HandlerApiClient

pytestmark = pytest.mark.functional

CONNECTION = "/v1/tenants/school-42/connection"


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(aws: Any) -> Clock:
    clock = Clock()
    wiring.sevdesk_probe().guard = ProbeGuard(clock=clock)  # the real guard, on a clock the test turns
    return clock


def put(api: HandlerApiClient, token: str) -> ApiResult:
    return api.put(CONNECTION, json_body={"sevdesk_token": token})


def sevdesk_calls(sandbox_state: Any) -> int:
    return len(sandbox_state.requests())


def test_ten_rejected_tokens_then_a_valid_one(
    api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any, clock: Clock
) -> None:
    for _ in range(10):
        rejected = put(api, secrets.token_hex(16))
        assert rejected.status == 422, rejected.body
        assert rejected.json["error"]["details"][0]["reason"] == "invalid_token"
        clock.now += 3

    # The caller has used up its rejected tokens for this minute: a client-caused pause, so 429 with
    # the time to wait, and sevDesk is not asked.
    before = sevdesk_calls(sandbox_state)
    paused = put(api, sevdesk_account.token)
    assert paused.status == 429, paused.body
    assert paused.json["error"]["code"] == "rate_limited"
    assert 1 <= int(paused.headers["Retry-After"]) <= 60
    assert sevdesk_calls(sandbox_state) == before

    clock.now += int(paused.headers["Retry-After"])
    stored = put(api, sevdesk_account.token)
    assert stored.status == 201, stored.body  # no two-minute 503: the rejections never fed the brake


def test_the_same_wrong_token_in_a_loop_costs_sevdesk_one_request(
    api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any, clock: Clock
) -> None:
    wrong = secrets.token_hex(16)
    before = sevdesk_calls(sandbox_state)
    for _ in range(25):
        result = put(api, wrong)
        assert result.status == 422
        assert result.json["error"]["details"][0]["reason"] == "invalid_token"
    assert sevdesk_calls(sandbox_state) - before == 1
    assert put(api, sevdesk_account.token).status == 201  # and it never blocks the right one


def test_an_old_tokens_rejections_do_not_block_the_new_token(
    api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any, clock: Clock
) -> None:
    assert put(api, sevdesk_account.token).status == 201
    new_token = sandbox_state.rotate_token(sevdesk_account.account_id)
    for _ in range(15):  # a dashboard testing the dead token over and over
        tested = api.post(f"{CONNECTION}/test")
        assert tested.status == 200
        assert tested.json["reason"] == "invalid_token"
    rotated = put(api, new_token)
    assert rotated.status == 200, rotated.body
    assert rotated.json["status"] == "connected"


def test_sevdesk_failures_answer_503_with_retry_after(
    api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any, clock: Clock
) -> None:
    sandbox_state.add_fault(Fault(kind="status", status=502, times=None))
    for _ in range(3):
        failed = put(api, sevdesk_account.token)
        assert failed.status == 503, failed.body
        assert failed.json["error"]["code"] == "sevdesk_unavailable"
        assert int(failed.headers["Retry-After"]) >= 1
    for _ in range(3):  # the token tests' own brake engages: sevDesk is left alone for a while
        paused = put(api, sevdesk_account.token)
        assert paused.status == 503
    before = sevdesk_calls(sandbox_state)
    assert put(api, sevdesk_account.token).status == 503
    assert sevdesk_calls(sandbox_state) == before
    assert 1 <= int(paused.headers["Retry-After"]) <= 60

    sandbox_state.clear_faults()
    clock.now += 61
    assert put(api, sevdesk_account.token).status == 201


def test_sevdesk_429_passes_its_retry_after_on(
    api: HandlerApiClient, sevdesk_account: Any, sandbox_state: Any, clock: Clock
) -> None:
    sandbox_state.add_fault(Fault(kind="rate_limit", retry_after=7, times=None))
    limited = put(api, sevdesk_account.token)
    assert limited.status == 503, limited.body  # sevDesk's limit, not the caller's: 503, with its hint
    assert limited.headers["Retry-After"] == "7"
