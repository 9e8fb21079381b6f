"""Request shape and envelope handling of SevdeskClient."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from sevbridge import USER_AGENT
from sevbridge.adapters.sevdesk import SevdeskClient, SevUser
from sevbridge.adapters.sevdesk.params import encode_params
from sevbridge.adapters.sevdesk.transport import close_default_http_clients, default_http_client
from sevbridge.domain.sevdesk_errors import SevdeskServerError
from tests.unit.sevdesk_client.fakes import BASE_URL, TOKEN, FakeSevdesk, ok, sevdesk_error

pytestmark = pytest.mark.unit


def test_get_sends_bare_token_accept_and_user_agent(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok([]))

    client.get("/Contact")

    (request,) = fake.requests
    assert request.method == "GET"
    assert str(request.url) == f"{BASE_URL}/Contact"
    assert request.headers["Authorization"] == TOKEN  # no "Bearer"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert "Content-Type" not in request.headers
    assert request.content == b""


def test_post_sends_json_body_with_content_type(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok({"id": "7", "objectName": "Contact"}, status=201))

    created = client.post("/Contact", json={"name": "Muster GmbH", "category": {"id": 3, "objectName": "Category"}})

    (request,) = fake.requests
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "name": "Muster GmbH",
        "category": {"id": 3, "objectName": "Category"},
    }
    assert created == {"id": "7", "objectName": "Contact"}


def test_decimals_in_bodies_become_json_numbers(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok({}))

    client.put("/Invoice/1/bookAmount", json={"amount": Decimal("119.00"), "rate": Decimal("19.99")})

    assert json.loads(fake.requests[0].content) == {"amount": 119, "rate": 19.99}


@pytest.mark.parametrize(
    ("objects", "expected"),
    [
        ([{"id": "1"}, {"id": "2"}], [{"id": "1"}, {"id": "2"}]),  # list endpoint
        ({"id": "1"}, {"id": "1"}),  # POST/PUT answer, some GET-by-id
        ([{"id": "1"}], [{"id": "1"}]),  # GET-by-id as a one-element list stays a list
        ("K-1001", "K-1001"),  # getNextCustomerNumber
        (True, True),  # checkCustomerNumberAvailability
        (None, None),
    ],
)
def test_envelope_is_unwrapped(client: SevdeskClient, fake: FakeSevdesk, objects: object, expected: object) -> None:
    fake.reply(ok(objects))
    assert client.get("/Anything") == expected


def test_answer_without_envelope_or_body(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(httpx.Response(200, json={"id": "9"}), httpx.Response(204))
    assert client.get("/Contact/9") == {"id": "9"}
    assert client.delete("/Contact/9") is None


@pytest.mark.parametrize("objects", [{"id": "5"}, [{"id": "5"}]])
def test_get_one_unwraps_object_or_single_row(client: SevdeskClient, fake: FakeSevdesk, objects: object) -> None:
    fake.reply(ok(objects))
    assert client.get_one("/Contact/5") == {"id": "5"}


def test_get_one_is_none_for_empty_and_not_found(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok([]), sevdesk_error(404, "No Model_Contact with the id 5 was found", code=151))
    assert client.get_one("/Contact/5") is None
    assert client.get_one("/Contact/5") is None


def test_get_one_rejects_several_rows(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok([{"id": "1"}, {"id": "2"}]))
    with pytest.raises(ValueError, match="at most one"):
        client.get_one("/Contact")


def test_params_bracket_style_and_booleans(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok([]))

    client.get(
        "/Invoice",
        {
            "contact[id]": 5,
            "contact[objectName]": "Contact",
            "countAll": True,
            "partiallyPaid": False,
            "embed": ["contact", "tags"],
            "invoiceNumber": None,
        },
    )

    assert list(fake.requests[0].url.params.multi_items()) == [
        ("contact[id]", "5"),
        ("contact[objectName]", "Contact"),
        ("countAll", "true"),
        ("partiallyPaid", "false"),
        ("embed", "contact,tags"),
    ]


def test_query_written_into_the_path_is_kept(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok([]))
    client.get("/Category?objectType=ContactAddress", {"limit": 10})
    assert list(fake.requests[0].url.params.multi_items()) == [
        ("objectType", "ContactAddress"),
        ("limit", "10"),
    ]


def test_encode_params_nested_and_indexed() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    assert encode_params({"contact": {"id": 5, "objectName": "Contact"}, "tags": [{"id": 7}], "updateAfter": when}) == [
        ("contact[id]", "5"),
        ("contact[objectName]", "Contact"),
        ("tags[0][id]", "7"),
        ("updateAfter", str(int(when.timestamp()))),
    ]
    with pytest.raises(ValueError, match="timezone"):
        encode_params({"updateAfter": datetime(2025, 1, 1)})
    with pytest.raises(TypeError):
        encode_params({"x": object()})


@pytest.mark.parametrize("path", ["https://evil.example/steal", "//evil.example/x", "Contact"])
def test_paths_must_stay_below_the_base_url(client: SevdeskClient, fake: FakeSevdesk, path: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        client.get(path)
    assert fake.requests == []


def test_base_url_trailing_slash_is_tolerated(make_client: Callable[..., SevdeskClient], fake: FakeSevdesk) -> None:
    fake.reply(ok([]))
    make_client(base_url=BASE_URL + "/").get("/Contact")
    assert str(fake.requests[0].url) == f"{BASE_URL}/Contact"


def test_bookkeeping_system_version(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok({"version": "2.0"}))
    assert client.bookkeeping_system_version() == "2.0"
    assert fake.requests[0].url.path == "/api/v1/Tools/bookkeepingSystemVersion"


def test_bookkeeping_system_version_missing_is_an_error(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok({}))
    with pytest.raises(SevdeskServerError, match="version"):
        client.bookkeeping_system_version()


def test_current_user_coerces_strings(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(
        ok(
            [
                {
                    "id": "4711",
                    "objectName": "SevUser",
                    "username": "erika@muster.example",
                    "firstName": "Erika",
                    "lastName": "Mustermann",
                    "fullname": None,
                    "sevClient": {"id": 815, "objectName": "SevClient", "name": "Muster GmbH"},
                },
                {"id": "4712", "username": "other"},
            ]
        )
    )

    user = client.current_user()

    assert user == SevUser(
        id="4711",
        username="erika@muster.example",
        fullname="Erika Mustermann",
        client_id="815",
        client_name="Muster GmbH",
    )
    assert fake.requests[0].url.path == "/api/v1/SevUser"


def test_current_user_empty_list_is_an_error(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok([]))
    with pytest.raises(SevdeskServerError, match="SevUser"):
        client.current_user()


def test_default_http_client_is_shared_and_has_explicit_timeouts() -> None:
    try:
        first = default_http_client(12.0)
        assert default_http_client(12.0) is first
        assert first.timeout.connect == 5.0
        assert first.timeout.read == 12.0
        assert default_http_client(3.0).timeout.connect == 3.0
    finally:
        close_default_http_clients()
    assert first.is_closed


def test_client_uses_shared_http_client_when_none_injected() -> None:
    try:
        client = SevdeskClient(TOKEN, base_url=BASE_URL, tenant_key="t")
        assert client._http is default_http_client(20.0)
    finally:
        close_default_http_clients()


def test_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        SevdeskClient(" ", base_url=BASE_URL, tenant_key="t")
