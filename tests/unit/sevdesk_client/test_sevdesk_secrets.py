"""The token never shows up in exceptions, reprs or logs; query values never show up in logs."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from sevbridge.adapters.sevdesk import HttpSevdeskProbe, SevdeskClient
from sevbridge.domain.sevdesk_errors import SevdeskError
from tests.unit.sevdesk_client.fakes import BASE_URL, TOKEN, FakeSevdesk, Raise, ok, sevdesk_error

pytestmark = pytest.mark.unit

FILTER_VALUE = "erika.mustermann@example.org"


class DumpEverything(logging.Formatter):
    """Like a structured (JSON) formatter: every attribute of the record, extras included."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({**record.__dict__, "message": record.getMessage()}, default=str)


@contextmanager
def json_log_to_stdout() -> Iterator[None]:
    # Entered inside the test body so the handler writes to the stdout that capsys captures.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(DumpEverything())
    root = logging.getLogger("sevbridge")
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def every_failure() -> list[object]:
    return [
        sevdesk_error(401, "Authentication required", code="AUTHENTICATION_FAILED"),
        sevdesk_error(403, "Forbidden"),
        sevdesk_error(404, "No Model_Contact with the id 5 was found", code=151),
        sevdesk_error(400, "Bad request", code="NOT_FOUND"),
        sevdesk_error(409, "Contact is still in use"),
        sevdesk_error(422, "Currency is required."),
        sevdesk_error(429, "slow down", headers={"Retry-After": "999"}),
        sevdesk_error(500, "Internal"),
        httpx.Response(502, text=f"<html>proxy echo Authorization: {TOKEN}</html>"),
        sevdesk_error(401, f"Token {TOKEN} is invalid"),  # even if sevDesk echoed it
        Raise(httpx.ConnectError),
        Raise(httpx.ReadTimeout),
        Raise(httpx.RemoteProtocolError),
    ]


def rendered(exc: BaseException) -> str:
    return "\n".join(
        [
            str(exc),
            repr(exc),
            repr(exc.args),
            repr(vars(exc)),
            "".join(traceback.format_exception(exc)),
        ]
    )


@pytest.mark.parametrize("failure", every_failure())
def test_token_absent_from_every_error(
    make_client: Callable[..., SevdeskClient],
    fake: FakeSevdesk,
    failure: object,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="sevbridge")  # Powertools sets this logger to INFO once created
    fake.always(failure)  # type: ignore[arg-type]
    client = make_client(max_attempts=2)

    with json_log_to_stdout(), pytest.raises(SevdeskError) as caught:
        client.post("/Contact", json={"name": "x"}, params={"email": FILTER_VALUE}, retry_unsafe=True)

    assert fake.requests, "the fake must have been called"
    text = rendered(caught.value)
    assert TOKEN not in text
    assert FILTER_VALUE not in text
    logs = caplog.text + "".join(repr(vars(r)) for r in caplog.records)
    captured = capsys.readouterr()
    assert "sevdesk POST /Contact" in captured.out  # the structured log really was written
    for output in (logs, captured.out, captured.err):
        assert TOKEN not in output
        assert FILTER_VALUE not in output


def test_successful_calls_log_one_safe_line_per_request(
    client: SevdeskClient,
    fake: FakeSevdesk,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="sevbridge")  # Powertools sets this logger to INFO once created
    fake.reply(sevdesk_error(503), ok([{"id": "1"}]))

    with json_log_to_stdout():
        client.get("/Contact", {"customerNumber": FILTER_VALUE})

    lines = [r for r in caplog.records if r.name == "sevbridge.adapters.sevdesk.client"]
    assert [r.getMessage().split(" in ")[0] for r in lines] == [
        "sevdesk GET /Contact -> 503",
        "sevdesk GET /Contact -> 200",
    ]
    assert [getattr(r, "attempt", None) for r in lines] == [1, 2]
    assert all(isinstance(getattr(r, "duration_ms", None), int) for r in lines)
    out = capsys.readouterr().out
    assert '"http_status": 200' in out
    assert TOKEN not in out + caplog.text
    assert FILTER_VALUE not in out + caplog.text


def test_reprs_hide_the_token(client: SevdeskClient) -> None:
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert TOKEN not in repr(vars(client))
    probe = HttpSevdeskProbe(BASE_URL)
    assert TOKEN not in repr(probe)
