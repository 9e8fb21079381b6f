"""limit/offset paging with de-duplication by id."""

from __future__ import annotations

import httpx
import pytest

from sevbridge.adapters.sevdesk import SevdeskClient
from tests.unit.sevdesk_client.fakes import FakeSevdesk, ok

pytestmark = pytest.mark.unit


def rows(start: int, stop: int) -> list[dict[str, str]]:
    return [{"id": str(i), "objectName": "Contact"} for i in range(start, stop)]


def serve(table: list[dict[str, str]]) -> object:
    """Answer like sevDesk: slice the table by limit/offset."""

    def handler(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        return ok(table[offset : offset + limit])

    return handler


def offsets(fake: FakeSevdesk) -> list[tuple[str, str]]:
    return [(r.url.params["limit"], r.url.params["offset"]) for r in fake.requests]


def test_walks_pages_until_a_short_page(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(serve(rows(0, 250)))  # type: ignore[arg-type]

    result = list(client.iter_pages("/Contact", page_size=100))

    assert [r["id"] for r in result] == [str(i) for i in range(250)]
    assert offsets(fake) == [("100", "0"), ("100", "100"), ("100", "200")]


def test_exact_multiple_needs_one_empty_page(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(serve(rows(0, 200)))  # type: ignore[arg-type]
    assert len(list(client.iter_pages("/Contact", page_size=100))) == 200
    assert len(fake.requests) == 3


def test_rows_shifted_between_pages_are_yielded_once(client: SevdeskClient, fake: FakeSevdesk) -> None:
    # A new row was inserted while walking: row "2" appears on both pages.
    fake.reply(ok(rows(0, 3)), ok(rows(2, 4)))

    result = list(client.iter_pages("/Contact", page_size=3))

    assert [r["id"] for r in result] == ["0", "1", "2", "3"]


def test_ids_as_numbers_and_strings_are_the_same_row(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok([{"id": "1"}, {"id": 2}]), ok([{"id": 2}, {"id": "3"}]), ok([]))
    assert [r["id"] for r in client.iter_pages("/Contact", page_size=2)] == ["1", 2, "3"]


def test_a_server_ignoring_offset_does_not_loop_forever(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.always(ok(rows(0, 2)))
    assert len(list(client.iter_pages("/Contact", page_size=2))) == 2
    assert len(fake.requests) == 2


def test_filters_and_embed_are_sent_on_every_page(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok(rows(0, 2)), ok([]))

    list(
        client.iter_pages(
            "/Contact",
            {"depth": "1", "embed": ["addresses", "communicationWays"], "category[id]": 3, "limit": 5},
            page_size=2,
        )
    )

    for request in fake.requests:
        params = dict(request.url.params.multi_items())
        assert params["depth"] == "1"
        assert params["embed"] == "addresses,communicationWays"
        assert params["category[id]"] == "3"
        assert params["limit"] == "2"  # page_size wins over a caller's limit


def test_single_object_or_null_page(client: SevdeskClient, fake: FakeSevdesk) -> None:
    fake.reply(ok({"id": "1"}))
    assert list(client.iter_pages("/Contact", page_size=10)) == [{"id": "1"}]
    fake.reply(ok(None))
    assert list(client.iter_pages("/Contact", page_size=10)) == []


@pytest.mark.parametrize("size", [0, 1001])
def test_page_size_bounds(client: SevdeskClient, size: int) -> None:
    with pytest.raises(ValueError, match="page_size"):
        list(client.iter_pages("/Contact", page_size=size))
