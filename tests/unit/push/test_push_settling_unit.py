"""The settling mechanism's rules, against a scripted port: look before sending again, stop at once on a
pause, a refusal or no time left, and say when an outcome is still unknown. (Each write kind's look-up
is exercised against the sandbox in tests/functional/push/test_push_settling.py.)"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any, cast

import pytest

from sevbridge.domain.push.ports import SdInvoice, SevdeskPort
from sevbridge.domain.push.settling import Patience, SettlingSevdesk
from sevbridge.domain.sevdesk_errors import (
    SevdeskBrakeEngaged,
    SevdeskError,
    SevdeskNetworkError,
    SevdeskOutOfTime,
    SevdeskRateLimited,
    SevdeskServerError,
    SevdeskValidationError,
)
from sevbridge.domain.transfer_runner import LONGEST_DELAY, RetrySchedule

pytestmark = pytest.mark.unit


def _unknown(message: str = "dropped") -> SevdeskError:
    error = SevdeskNetworkError(message)
    error.outcome_unknown = True
    return error


def _invoice(status: int = 100, paid: str = "0") -> SdInvoice:
    return SdInvoice("7", "RE-1", status, "m", "1", Decimal("100"), Decimal(paid))


class ScriptedPort:
    """Answers each method from its own script: a value, or an exception to raise."""

    def __init__(self, **scripts: list[Any]) -> None:
        self.scripts = {name: deque(values) for name, values in scripts.items()}
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*_: Any, **__: Any) -> Any:
            self.calls.append(name)
            answer = self.scripts[name].popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


def settling(port: ScriptedPort, **patience: Any) -> tuple[SettlingSevdesk, list[float]]:
    waits: list[float] = []
    return SettlingSevdesk(cast("SevdeskPort", port), Patience(sleep=waits.append, **patience)), waits


def test_an_unknown_send_that_landed_is_adopted_not_sent_again() -> None:
    port = ScriptedPort(send_invoice=[_unknown()], get_invoice=[_invoice(status=200)])
    sevdesk, waits = settling(port)
    assert sevdesk.send_invoice("7") == _invoice(status=200)
    assert port.calls == ["send_invoice", "get_invoice"] and len(waits) == 1


def test_an_unknown_send_that_did_not_land_is_sent_again_after_a_growing_wait() -> None:
    port = ScriptedPort(
        reset_to_draft=[_unknown(), _unknown(), None],
        get_invoice=[_invoice(status=200), _invoice(status=200)],
    )
    sevdesk, waits = settling(port)
    sevdesk.reset_to_draft("7")
    assert port.calls == ["reset_to_draft", "get_invoice", "reset_to_draft", "get_invoice", "reset_to_draft"]
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


def test_a_failed_look_up_is_tried_again_and_never_resends_unseen() -> None:
    port = ScriptedPort(
        send_invoice=[_unknown()],
        get_invoice=[SevdeskServerError("503"), _invoice(status=200)],
    )
    sevdesk, _ = settling(port)
    assert sevdesk.send_invoice("7") is not None
    assert port.calls.count("send_invoice") == 1


def test_a_payment_counts_as_booked_when_the_paid_amount_grew_by_it() -> None:
    port = ScriptedPort(
        get_invoice=[_invoice(status=200, paid="40"), _invoice(status=750, paid="70")],
        book_payment=[_unknown()],
    )
    sevdesk, _ = settling(port)
    sevdesk.get_invoice("7")  # what the domain reads right before booking
    sevdesk.book_payment("7", amount=Decimal("30"), day=None, check_account_id="1")  # type: ignore[arg-type]
    assert port.calls.count("book_payment") == 1


def test_after_the_last_round_the_error_says_whether_the_outcome_is_unknown() -> None:
    port = ScriptedPort(send_invoice=[_unknown(), _unknown(), _unknown()], get_invoice=[_invoice(), _invoice()])
    sevdesk, _ = settling(port, rounds=2)
    with pytest.raises(SevdeskNetworkError) as caught:
        sevdesk.send_invoice("7")
    assert caught.value.outcome_unknown  # the last send may have landed: the next attempt must look
    assert port.calls == ["send_invoice", "get_invoice", "send_invoice", "get_invoice", "send_invoice"]

    never_sent = SevdeskNetworkError("could not connect")  # the client knows nothing left
    port = ScriptedPort(send_invoice=[_unknown(), never_sent], get_invoice=[_invoice()])
    sevdesk, _ = settling(port, rounds=1)
    with pytest.raises(SevdeskNetworkError) as caught:
        sevdesk.send_invoice("7")
    assert not caught.value.outcome_unknown  # the first did not land, the second was never sent


@pytest.mark.parametrize(
    "stop",
    [
        SevdeskBrakeEngaged("paused", resume_in=120),
        SevdeskRateLimited("slow down", retry_after=60),
        SevdeskOutOfTime("no time"),
        SevdeskValidationError("refused"),
    ],
)
def test_pauses_refusals_and_no_time_stop_at_once_keeping_the_unknown(stop: SevdeskError) -> None:
    port = ScriptedPort(send_invoice=[_unknown()], get_invoice=[stop])
    sevdesk, _ = settling(port)
    with pytest.raises(type(stop)) as caught:
        sevdesk.send_invoice("7")
    assert caught.value.outcome_unknown  # the next attempt must look before sending
    assert port.calls == ["send_invoice", "get_invoice"]


def test_a_short_retry_after_is_waited_out_in_place() -> None:
    port = ScriptedPort(list_units=[SevdeskRateLimited("slow down", retry_after=1), []])
    sevdesk, waits = settling(port)
    assert sevdesk.list_units() == []
    assert waits == [1]


def test_a_longer_retry_after_ends_the_attempt_at_once() -> None:
    # Waiting 2 s here would hold up every other tenant in the worker's batch; the queue waits instead.
    port = ScriptedPort(list_units=[SevdeskRateLimited("slow down", retry_after=2), []])
    sevdesk, waits = settling(port)
    with pytest.raises(SevdeskRateLimited) as caught:
        sevdesk.list_units()
    assert waits == [] and caught.value.pause_seconds == 2
    port = ScriptedPort(list_units=[SevdeskRateLimited("slow down", retry_after=3), []])
    sevdesk, waits = settling(port, longest_pause=5.0)
    assert sevdesk.list_units() == [] and waits == [3]


def test_no_wait_beyond_the_time_left() -> None:
    port = ScriptedPort(update_contact=[SevdeskServerError("503")])
    sevdesk, waits = settling(port, time_left=lambda: 0.1)
    with pytest.raises(SevdeskServerError):
        sevdesk.update_contact("1", {"name": "x"})
    assert waits == []


def test_a_create_without_anything_to_find_it_by_is_not_chased() -> None:
    port = ScriptedPort(create_contact=[_unknown()])
    sevdesk, _ = settling(port)
    with pytest.raises(SevdeskNetworkError) as caught:
        sevdesk.create_contact({"name": "X GmbH"})
    assert caught.value.outcome_unknown and port.calls == ["create_contact"]


def test_retry_schedule_grows_repeats_its_last_delay_and_is_capped() -> None:
    schedule = RetrySchedule(delays=(10, 30, 120), jitter=0.1)
    assert 9 <= schedule.delay_after(1) <= 11
    assert 27 <= schedule.delay_after(2) <= 33
    assert 108 <= schedule.delay_after(7) <= 132
    assert RetrySchedule(delays=(5000,), jitter=0).delay_after(1) == LONGEST_DELAY
    assert RetrySchedule(delays=(0,)).delay_after(3) == 0
