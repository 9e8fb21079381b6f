"""Which failures are retried, how long the client waits, and when a write's outcome is unknown."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sevbridge.adapters.sevdesk import SevdeskClient
from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskError,
    SevdeskNetworkError,
    SevdeskRateLimited,
    SevdeskServerError,
    SevdeskValidationError,
)
from tests.unit.sevdesk_client.fakes import FakeSevdesk, Raise, ok, sevdesk_error

pytestmark = pytest.mark.unit

Make = Callable[..., SevdeskClient]


# -- 429 ---------------------------------------------------------------------------------------


def test_a_short_retry_after_is_waited_for_in_place(
    client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float]
) -> None:
    fake.reply(sevdesk_error(429, "slow down", headers={"Retry-After": "1"}), ok([{"id": "1"}]))

    assert client.get("/Contact") == [{"id": "1"}]

    assert len(fake.requests) == 2
    assert sleeps == [1.0]  # max(Retry-After, jittered backoff ≤ 0.5 s), capped at the throttle wait


@pytest.mark.parametrize("retry_after", ["2", "5", "20"])
def test_a_longer_retry_after_is_left_to_the_queue_without_sleeping(
    client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float], retry_after: str
) -> None:
    # Sleeping here would hold up every other tenant in the worker's batch (review: 571 s drain).
    fake.reply(sevdesk_error(429, "slow down", headers={"Retry-After": retry_after}), ok([{"id": "1"}]))

    with pytest.raises(SevdeskRateLimited) as caught:
        client.get("/Contact")

    assert len(fake.requests) == 1
    assert sleeps == []
    assert caught.value.pause_seconds == float(retry_after)  # the transfer/import waits this long in its queue


def test_the_throttle_wait_is_configurable(make_client: Make, fake: FakeSevdesk, sleeps: list[float]) -> None:
    fake.reply(sevdesk_error(429, "slow down", headers={"Retry-After": "3"}), ok([{"id": "1"}]))
    assert make_client(max_throttle_wait=5.0).get("/Contact") == [{"id": "1"}]
    assert sleeps == [3.0]


def test_no_wait_for_a_429_without_time_left_for_it(make_client: Make, fake: FakeSevdesk, sleeps: list[float]) -> None:
    fake.reply(sevdesk_error(429, "slow down", headers={"Retry-After": "1"}), ok([{"id": "1"}]))
    # 1.5 s left: enough for the wait, not for the wait plus a call of up to 1 s.
    with pytest.raises(SevdeskRateLimited):
        make_client(timeout=1.0, time_left=lambda: 1.5).get("/Contact")
    assert sleeps == []
    assert len(fake.requests) == 1


def test_429_http_date_retry_after_is_honoured(client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float]) -> None:
    far = "Wed, 21 Oct 2099 07:28:00 GMT"  # way beyond max_backoff
    fake.reply(sevdesk_error(429, "slow down", headers={"Retry-After": far}))
    with pytest.raises(SevdeskRateLimited):
        client.get("/Contact")
    assert len(fake.requests) == 1
    assert sleeps == []


def test_429_without_retry_after_uses_short_jittered_backoff(
    client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float]
) -> None:
    fake.reply(sevdesk_error(429), sevdesk_error(429), sevdesk_error(429), ok([]))
    client.get("/Contact")
    assert len(sleeps) == 3
    assert 0 <= sleeps[0] <= 0.5
    assert all(0 <= s <= 1.0 for s in sleeps)  # never longer than the throttle wait


def test_retry_after_beyond_max_backoff_is_left_to_the_queue(
    make_client: Make, fake: FakeSevdesk, sleeps: list[float]
) -> None:
    fake.reply(sevdesk_error(429, "slow down", headers={"Retry-After": "60"}))

    with pytest.raises(SevdeskRateLimited) as caught:
        make_client(max_backoff=20.0, max_throttle_wait=30.0).get("/Contact")

    assert caught.value.retry_after == 60.0
    assert len(fake.requests) == 1
    assert sleeps == []


def test_429_is_retried_for_post_and_the_outcome_is_known(
    client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float]
) -> None:
    # sevDesk refused the request, so resending cannot duplicate the invoice.
    fake.always(sevdesk_error(429, "slow down", headers={"Retry-After": "1"}))

    with pytest.raises(SevdeskRateLimited) as caught:
        client.post("/Invoice/Factory/saveInvoice", json={})

    assert len(fake.requests) == 4
    assert sleeps == [1.0, 1.0, 1.0]  # the jittered backoff is capped at the 1 s throttle wait
    assert caught.value.outcome_unknown is False


# -- 5xx ---------------------------------------------------------------------------------------


def test_5xx_is_retried_for_get(client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float]) -> None:
    fake.reply(sevdesk_error(503), httpx.Response(502, text="<html/>"), ok([{"id": "1"}]))

    assert client.get("/Contact") == [{"id": "1"}]

    assert len(fake.requests) == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= 20.0 for s in sleeps)


def test_max_attempts_is_respected(make_client: Make, fake: FakeSevdesk, sleeps: list[float]) -> None:
    fake.always(sevdesk_error(500))

    with pytest.raises(SevdeskServerError) as caught:
        make_client(max_attempts=3).get("/Contact")

    assert len(fake.requests) == 3
    assert len(sleeps) == 2
    assert caught.value.outcome_unknown is False  # a GET changes nothing


def test_backoff_is_capped_by_max_backoff(make_client: Make, fake: FakeSevdesk, sleeps: list[float]) -> None:
    fake.always(sevdesk_error(500))
    with pytest.raises(SevdeskServerError):
        make_client(max_attempts=8, max_backoff=1.5).get("/Contact")
    assert len(sleeps) == 7
    assert all(0 <= s <= 1.5 for s in sleeps)


def test_one_attempt_means_no_retry(make_client: Make, fake: FakeSevdesk, sleeps: list[float]) -> None:
    fake.always(sevdesk_error(500))
    with pytest.raises(SevdeskServerError):
        make_client(max_attempts=1).get("/Contact")
    assert len(fake.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("failure", [sevdesk_error(500), Raise(httpx.ReadTimeout), Raise(httpx.RemoteProtocolError)])
def test_post_is_not_resent_after_an_unknown_outcome(
    client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float], failure: object
) -> None:
    fake.reply(failure)  # type: ignore[arg-type]

    with pytest.raises((SevdeskServerError, SevdeskNetworkError)) as caught:
        client.post("/Invoice/Factory/saveInvoice", json={"invoice": {}})

    assert len(fake.requests) == 1
    assert sleeps == []
    assert caught.value.outcome_unknown is True
    assert "outcome unknown" in str(caught.value)


def test_post_is_resent_after_5xx_when_the_caller_opts_in(
    client: SevdeskClient, fake: FakeSevdesk, sleeps: list[float]
) -> None:
    fake.reply(sevdesk_error(500), Raise(httpx.ReadTimeout), ok({"id": "9"}, status=201))

    assert client.post("/Tag/Factory/create", json={}, retry_unsafe=True) == {"id": "9"}

    assert len(fake.requests) == 3
    assert len(sleeps) == 2


def test_opted_in_post_that_keeps_failing_reports_unknown_outcome(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(sevdesk_error(500))
    with pytest.raises(SevdeskServerError) as caught:
        client.post("/Tag/Factory/create", json={}, retry_unsafe=True)
    assert len(fake.requests) == 4
    assert caught.value.outcome_unknown is True


def test_later_clean_rejection_still_reports_unknown_outcome(client: SevdeskClient, fake: FakeSevdesk) -> None:
    # The first attempt may have created the object; the 422 of the resend proves nothing about it.
    fake.reply(sevdesk_error(502), sevdesk_error(422, "customer number already taken"))
    with pytest.raises(SevdeskValidationError) as caught:
        client.post("/Contact", json={}, retry_unsafe=True)
    assert len(fake.requests) == 2
    assert caught.value.outcome_unknown is True


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_connect_failures_are_retried_even_for_post(
    client: SevdeskClient,
    fake: FakeSevdesk,
    sleeps: list[float],
    exc_type: type[httpx.TransportError],
) -> None:
    fake.reply(Raise(exc_type), ok({"id": "9"}, status=201))

    assert client.post("/Invoice/Factory/saveInvoice", json={}) == {"id": "9"}

    assert len(fake.requests) == 2
    assert len(sleeps) == 1


def test_connect_failures_exhausted_leave_the_outcome_known(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(Raise(httpx.ConnectError))
    with pytest.raises(SevdeskNetworkError) as caught:
        client.post("/Invoice/Factory/saveInvoice", json={})
    assert len(fake.requests) == 4
    assert caught.value.outcome_unknown is False


def test_put_is_retried_by_default(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(sevdesk_error(502), ok({"id": "1"}))
    assert client.put("/Contact/1", json={"name": "x"}) == {"id": "1"}
    assert len(fake.requests) == 2


def test_non_idempotent_put_is_not_resent(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(Raise(httpx.ReadTimeout))
    with pytest.raises(SevdeskNetworkError) as caught:
        client.put("/Invoice/1/bookAmount", json={"amount": 10}, retry_unsafe=False)
    assert len(fake.requests) == 1
    assert caught.value.outcome_unknown is True


def test_delete_is_retried_and_flags_unknown_outcome_when_exhausted(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(sevdesk_error(500))
    with pytest.raises(SevdeskServerError) as caught:
        client.delete("/Contact/1")
    assert len(fake.requests) == 4
    assert caught.value.outcome_unknown is True


# -- never retried -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, SevdeskValidationError),
        (401, SevdeskAuthError),
        (403, SevdeskAuthError),
        (404, SevdeskError),
        (409, SevdeskValidationError),
        (422, SevdeskValidationError),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_4xx_is_never_retried(
    client: SevdeskClient,
    fake: FakeSevdesk,
    sleeps: list[float],
    status: int,
    expected: type[SevdeskError],
    method: str,
) -> None:
    fake.always(sevdesk_error(status))
    call: Callable[[], object] = {
        "GET": lambda: client.get("/Contact/1"),
        "POST": lambda: client.post("/Contact", json={}, retry_unsafe=True),
        "PUT": lambda: client.put("/Contact/1", json={}),
        "DELETE": lambda: client.delete("/Contact/1"),
    }[method]

    with pytest.raises(expected) as caught:
        call()

    assert len(fake.requests) == 1
    assert sleeps == []
    assert caught.value.outcome_unknown is False


def test_non_json_success_of_a_write_is_an_unknown_outcome(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(httpx.Response(201, text="<html>created?</html>"))
    with pytest.raises(SevdeskServerError) as caught:
        client.post("/Contact", json={})
    assert len(fake.requests) == 1
    assert caught.value.status == 201
    assert caught.value.outcome_unknown is True


def test_local_protocol_errors_are_not_retried(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(Raise(httpx.LocalProtocolError))
    with pytest.raises(SevdeskNetworkError) as caught:
        client.post("/Contact", json={})
    assert len(fake.requests) == 1
    assert caught.value.outcome_unknown is False
