"""Every request the import reader sends to sevDesk validates against both sevDesk OpenAPI specs.

The real SevdeskImportReader reads a generated account in the sevDesk sandbox through every method it
has; the client addresses the spec's server URL and a RebaseTransport hands each request to the
sandbox while a RecordingTransport keeps it. Filters that sevDesk documents only in its tag text
(`updateAfter`, `orderType`, `category[id]`, `invoiceType`) are extra query parameters, which the spec
allows. Coverage both ways: the request shapes must equal EXPECTED_SHAPES, and every reader method
must have been called.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
from sevbridge.adapters.sevdesk.reader import SevdeskImportReader
from sevbridge.domain.pull.records import ImportKind
from sevdesk_sandbox import SandboxServer, SandboxState, serve
from sevdesk_sandbox.generate import generate
from tests.contract.spec_recorder import (
    SPEC_SERVER_URL,
    RebaseTransport,
    RecordingTransport,
    assert_requests_match_spec,
)

pytestmark = pytest.mark.contract
PAGING = frozenset({"limit", "offset"})

Shape = tuple[str, str, str]
EXPECTED_SHAPES: frozenset[Shape] = frozenset(
    {
        ("GET", "/Contact", "category[id]&category[objectName]&depth&embed"),
        ("GET", "/Contact", "category[id]&category[objectName]&depth&embed&updateAfter"),
        ("GET", "/Contact/{id}", "embed"),
        ("GET", "/Part", "embed"),
        ("GET", "/Part/{id}", "embed"),
        ("GET", "/Order", "embed&orderType"),
        ("GET", "/Order", "embed&orderType&updateAfter"),
        ("GET", "/Order/{id}", "embed"),
        ("GET", "/Order/{id}/getPositions", "embed"),
        ("GET", "/Invoice", "embed"),
        ("GET", "/Invoice", "embed&updateAfter"),
        ("GET", "/Invoice/{id}", "embed"),
        ("GET", "/Invoice", "contact[id]&contact[objectName]&invoiceType"),
        ("GET", "/Invoice", "invoiceType"),
        ("GET", "/CommunicationWay", "contact[id]&contact[objectName]"),
        ("GET", "/ContactAddress", "contact[id]&contact[objectName]&embed"),
        ("GET", "/Category", "objectType"),
    }
)


def shape(request: httpx.Request) -> Shape:
    path = request.url.path.removeprefix(httpx.URL(SPEC_SERVER_URL).path)
    template = "/".join("{id}" if part.isdigit() else part for part in path.split("/"))
    keys = sorted({key for key, _ in request.url.params.multi_items()} - PAGING)
    return request.method, template, "&".join(keys)


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[list[httpx.Request], set[str]]]:
    state = SandboxState()
    server: SandboxServer = serve(state, port=0)
    account = state.create_account(name="Contract Import GmbH")
    generate(state, account.account_id, contacts=5, parts=3, orders=4, invoices=6, cancelled=1, seed=3, backdate=True)
    recorder = RecordingTransport(RebaseTransport(server.url))
    called: set[str] = set()
    try:
        with httpx.Client(transport=recorder) as http:
            client = SevdeskClient(
                account.token,
                base_url=SPEC_SERVER_URL,
                tenant_key="contract:imports",
                http=http,
                max_attempts=1,
                brake=ErrorBrake(max_errors=1000),
                sleep=lambda _seconds: None,
            )
            reader = SevdeskImportReader(client)
            since = datetime(2020, 1, 1, tzinfo=UTC)
            first: dict[ImportKind, str] = {}
            for kind in ImportKind:
                rows = reader.page(kind, since=None, offset=0, limit=100)
                first[kind] = str(rows[0]["id"])
                if kind is not ImportKind.ARTICLES:  # /Part has no update filter: always read in full
                    reader.page(kind, since=since, offset=0, limit=100)
                assert reader.fetch(kind, first[kind]) is not None
            called |= {"page", "fetch"}
            contact = first[ImportKind.CONTACTS]
            reader.order_positions(first[ImportKind.ORDER_CONFIRMATIONS])
            reader.communication_ways(contact)
            reader.contact_addresses(contact)
            reader.cancellations(contact)
            reader.cancellations(None)
            reader.category_name("40")
            called |= {"order_positions", "communication_ways", "contact_addresses", "cancellations", "category_name"}
            assert reader.requests == len(recorder.requests)
        yield recorder.requests, called
    finally:
        server.shutdown()


def test_every_import_request_matches_both_specs(recorded: tuple[list[httpx.Request], set[str]]) -> None:
    # The community-corrected and the official spec, with the deviations listed in spec_deviations.py.
    assert_requests_match_spec(recorded[0])


def test_request_shapes_are_exactly_the_expected_ones(recorded: tuple[list[httpx.Request], set[str]]) -> None:
    assert {shape(r) for r in recorded[0]} == EXPECTED_SHAPES


def test_every_reader_method_is_covered(recorded: tuple[list[httpx.Request], set[str]]) -> None:
    methods = {
        name for name, member in inspect.getmembers(SevdeskImportReader, inspect.isfunction) if not name.startswith("_")
    }
    assert methods == recorded[1]
