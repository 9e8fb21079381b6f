"""sevDesk's error answers become the domain's typed errors (api-facts §2, §10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from sevbridge.adapters.sevdesk import SevdeskClient
from sevbridge.adapters.sevdesk.errors import MAX_MESSAGE_CHARS, parse_retry_after
from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskError,
    SevdeskNetworkError,
    SevdeskNotFound,
    SevdeskRateLimited,
    SevdeskServerError,
    SevdeskValidationError,
)
from tests.unit.sevdesk_client.fakes import FakeSevdesk, Raise, sevdesk_error

pytestmark = pytest.mark.unit


@pytest.fixture
def single_shot(make_client: Callable[..., SevdeskClient]) -> SevdeskClient:
    """No retries, so each test sees the error of exactly one answer."""
    return make_client(max_attempts=1)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, None, SevdeskAuthError),
        (403, "AUTHENTICATION_FAILED", SevdeskAuthError),
        (404, 151, SevdeskNotFound),
        (400, "NOT_FOUND", SevdeskNotFound),
        (400, 151, SevdeskNotFound),
        (400, "151", SevdeskNotFound),
        (400, None, SevdeskValidationError),  # a plain 400 is not proof of absence
        (400, 7100, SevdeskValidationError),
        (409, None, SevdeskValidationError),
        (422, 7100, SevdeskValidationError),
        (429, None, SevdeskRateLimited),
        (500, None, SevdeskServerError),
        (503, None, SevdeskServerError),
    ],
)
def test_status_and_code_select_the_error_type(
    single_shot: SevdeskClient, fake: FakeSevdesk, status: int, code: object, expected: type[SevdeskError]
) -> None:
    fake.reply(sevdesk_error(status, "Invalid status. New invoices must be created with status 100.", code=code))

    with pytest.raises(expected) as caught:
        single_shot.post("/Invoice/Factory/saveInvoice", json={})

    error = caught.value
    assert type(error) is expected
    assert error.status == status
    assert error.code == (None if code is None else str(code))
    assert error.message == "Invalid status. New invoices must be created with status 100."
    assert error.exception_uuid == "5f0c6b1e-0000-4000-8000-000000000001"
    assert error.method == "POST"
    assert error.path == "/Invoice/Factory/saveInvoice"
    assert str(error).startswith(f"POST /Invoice/Factory/saveInvoice: HTTP {status}: Invalid status.")


def test_validation_error_schema_of_the_spec(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    # components.schemas.validationError: only message + exceptionUUID
    fake.reply(httpx.Response(422, json={"error": {"message": "Currency is required.", "exceptionUUID": "u-1"}}))
    with pytest.raises(SevdeskValidationError) as caught:
        single_shot.put("/Invoice/1/enshrine")
    assert caught.value.message == "Currency is required."
    assert caught.value.code is None
    assert caught.value.exception_uuid == "u-1"


def test_message_at_top_level(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(httpx.Response(400, json={"message": "A draft can not be paid"}))
    with pytest.raises(SevdeskValidationError, match="A draft can not be paid"):
        single_shot.put("/Invoice/1/bookAmount", json={}, retry_unsafe=False)


def test_non_string_message_is_rendered_as_json(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(httpx.Response(422, json={"error": {"message": ["date", "invalid"]}}))
    with pytest.raises(SevdeskValidationError) as caught:
        single_shot.post("/Contact", json={})
    assert caught.value.message == '["date", "invalid"]'


def test_html_502_is_a_server_error_without_the_html(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    fake.reply(httpx.Response(502, text=html, headers={"Content-Type": "text/html"}))

    with pytest.raises(SevdeskServerError) as caught:
        single_shot.get("/Contact")

    assert caught.value.status == 502
    assert caught.value.message == "sevDesk answered 502 Bad Gateway with a non-JSON body"
    assert "<html>" not in str(caught.value)


@pytest.mark.parametrize(
    ("response", "text"),
    [
        (httpx.Response(500), "sevDesk answered 500 Internal Server Error with an empty body"),
        (httpx.Response(500, json={"objects": None}), "with no error message"),
        (httpx.Response(500, json=["unexpected"]), "with no error message"),
        (httpx.Response(500, json={"error": {"message": "", "code": None}}), "with no error message"),
    ],
)
def test_bodies_without_a_message(
    single_shot: SevdeskClient, fake: FakeSevdesk, response: httpx.Response, text: str
) -> None:
    fake.reply(response)
    with pytest.raises(SevdeskServerError, match=text):
        single_shot.get("/Contact")


def test_long_messages_are_truncated(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(sevdesk_error(422, "x" * 5000))
    with pytest.raises(SevdeskValidationError) as caught:
        single_shot.post("/Contact", json={})
    assert len(caught.value.message) == MAX_MESSAGE_CHARS
    assert caught.value.message.endswith("…")


def test_error_path_never_carries_the_query(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(sevdesk_error(400, "Bad request"))
    with pytest.raises(SevdeskValidationError) as caught:
        single_shot.get("/Contact?customerNumber=K-1001", {"email": "erika@muster.example"})
    assert caught.value.path == "/Contact"
    assert "K-1001" not in str(caught.value)
    assert "erika" not in str(caught.value)


def test_redirect_is_not_followed(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(httpx.Response(302, headers={"Location": "https://elsewhere.example/"}))
    with pytest.raises(SevdeskServerError, match="302"):
        single_shot.get("/Contact")
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.RemoteProtocolError]
)
def test_transport_failures_become_network_errors(
    single_shot: SevdeskClient, fake: FakeSevdesk, exc_type: type[httpx.TransportError]
) -> None:
    fake.reply(Raise(exc_type))
    with pytest.raises(SevdeskNetworkError) as caught:
        single_shot.get("/Contact?secret=1")
    assert caught.value.status is None
    assert caught.value.path == "/Contact"
    assert exc_type.__name__ in caught.value.message
    assert caught.value.__cause__ is None  # the httpx error holds the request and its headers


def test_retry_after_parsing() -> None:
    now = datetime(2025, 7, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("-3", now=now) == 0.0
    assert parse_retry_after("Tue, 01 Jul 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Tue, 01 Jul 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_rate_limited_carries_retry_after(single_shot: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(sevdesk_error(429, "Too many requests", headers={"Retry-After": "42"}))
    with pytest.raises(SevdeskRateLimited) as caught:
        single_shot.get("/Contact")
    assert caught.value.retry_after == 42.0
    assert caught.value.retryable
