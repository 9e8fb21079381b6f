"""Every request the push domain sends to sevDesk validates against sevDesk's OpenAPI spec.

The real PushService (build_push_service → SevdeskGateway → SevdeskClient) runs a journey of
scenarios against the sevDesk sandbox on a loopback socket. The client talks to the spec's server
URL; a RebaseTransport hands each request to the sandbox and a RecordingTransport in front of it
keeps every request actually sent. Each scenario's requests are then validated (openapi-core, with
only the deviations of spec_deviations.py tolerated).

Coverage is checked both ways: the set of request shapes (method, templated path, query keys) must
equal EXPECTED_SHAPES, and every SevdeskGateway method must have been called. A new request shape or
a new port method without a contract test here fails; so does a scenario that stops producing one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI

from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
from sevbridge.adapters.sevdesk.gateway import SevdeskGateway, build_push_service
from sevbridge.domain.events import InvoiceStatus
from sevbridge.domain.push.ports import MappingKind, MappingRow
from sevbridge.domain.push.service import PushOutcome, PushService
from sevbridge.domain.settings import ContactMatch, TenantSettings
from sevdesk_sandbox import SandboxServer, SandboxState, serve
from tests.contract.spec_recorder import (
    SPEC_SERVER_URL,
    RebaseTransport,
    RecordingTransport,
    assert_requests_match_spec,
    request_problems,
)
from tests.functional.push.builders import appointment, invoice, organisation, person, position, project

pytestmark = pytest.mark.contract

PLATFORM = "plat-contract"
TENANT = "tenant-contract"
TODAY = date(2025, 7, 15)
PAGING = frozenset({"limit", "offset"})

Shape = tuple[str, str, str]  # (method, path template, sorted non-paging query keys joined by "&")

# Every request shape the push domain sends. Keep in sync on purpose: a new shape needs a scenario.
EXPECTED_SHAPES: frozenset[Shape] = frozenset(
    {
        ("GET", "/Contact/Factory/getNextCustomerNumber", ""),
        # reference data
        ("GET", "/Unity", ""),
        ("GET", "/StaticCountry", "code"),
        ("GET", "/Category", "objectType"),
        ("GET", "/CheckAccount", ""),
        ("GET", "/SevUser", ""),
        # contacts: lookups
        ("GET", "/Contact/{id}", ""),
        ("GET", "/Contact", "customerNumber&depth"),
        ("GET", "/Contact/Mapper/checkCustomerNumberAvailability", "customerNumber"),
        ("GET", "/ContactCustomFieldSetting", ""),
        (
            "GET",
            "/Contact/Factory/findContactsByCustomFieldValue",
            "customFieldName&customFieldSetting[id]&customFieldSetting[objectName]&value",
        ),
        ("GET", "/ContactCustomField", "contact[id]&contact[objectName]"),
        ("GET", "/ContactAddress", "contact[id]&contact[objectName]"),
        ("GET", "/CommunicationWay", "contact[id]&contact[objectName]"),
        ("GET", "/CommunicationWay", "type&value"),
        # contacts: writes
        ("POST", "/Contact", ""),
        ("PUT", "/Contact/{id}", ""),
        ("POST", "/ContactCustomFieldSetting", ""),
        ("POST", "/ContactCustomField", ""),
        ("POST", "/ContactAddress", ""),
        ("PUT", "/ContactAddress/{id}", ""),
        ("POST", "/CommunicationWay", ""),
        ("DELETE", "/CommunicationWay/{id}", ""),
        ("DELETE", "/ContactAddress/{id}", ""),
        # invoices
        ("GET", "/Invoice", "customerIntenalNote&customerInternalNote"),
        ("GET", "/Invoice", "invoiceNumber"),
        ("GET", "/Invoice/{id}", ""),
        ("GET", "/Invoice/{id}/getPositions", ""),
        ("POST", "/Invoice/Factory/saveInvoice", ""),
        ("PUT", "/Invoice/{id}/sendBy", ""),
        ("PUT", "/Invoice/{id}/bookAmount", ""),
        ("PUT", "/Invoice/{id}/resetToDraft", ""),
    }
)


def shape(request: httpx.Request) -> Shape:
    prefix = httpx.URL(SPEC_SERVER_URL).path
    path = request.url.path.removeprefix(prefix)
    template = "/".join("{id}" if segment.isdigit() else segment for segment in path.split("/"))
    keys = sorted({key for key, _ in request.url.params.multi_items()} - PAGING)
    return (request.method, template, "&".join(keys))


def body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


# --- the wiring -------------------------------------------------------------------------------


class MemoryMappings:
    """MappingStore in a dict: the contract is about sevDesk requests, not about DynamoDB."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str, str], MappingRow] = {}
        self._marking: dict[tuple[str, str], str] = {}

    def get(self, platform_id: str, tenant_id: str, kind: MappingKind, source_id: str) -> MappingRow | None:
        return self._rows.get((platform_id, tenant_id, kind, source_id))

    def put(self, platform_id: str, tenant_id: str, row: MappingRow) -> None:
        self._rows[(platform_id, tenant_id, row.kind, row.source_id)] = row

    def forget(self, platform_id: str, tenant_id: str, row: MappingRow) -> None:
        if self._rows.get((platform_id, tenant_id, row.kind, row.source_id)) == row:
            del self._rows[(platform_id, tenant_id, row.kind, row.source_id)]

    def marking_setting(self, platform_id: str, tenant_id: str) -> str | None:
        return self._marking.get((platform_id, tenant_id))

    def record_marking_setting(self, platform_id: str, tenant_id: str, setting_id: str) -> None:
        self._marking[(platform_id, tenant_id)] = setting_id

    def forget_marking_setting(self, platform_id: str, tenant_id: str, setting_id: str) -> None:
        if self._marking.get((platform_id, tenant_id)) == setting_id:
            del self._marking[(platform_id, tenant_id)]


@dataclass
class Journey:
    """What the scenarios sent: requests per scenario, outcomes, and the gateway methods called."""

    requests: dict[str, list[httpx.Request]] = field(default_factory=dict)
    outcomes: dict[str, list[PushOutcome]] = field(default_factory=dict)
    port_calls: set[str] = field(default_factory=set)

    def all_requests(self) -> list[httpx.Request]:
        return [r for rs in self.requests.values() for r in rs]


def gateway_methods() -> set[str]:
    return {name for name, value in vars(SevdeskGateway).items() if callable(value) and not name.startswith("_")}


@pytest.fixture(scope="module")
def push_sandbox() -> Iterator[SandboxServer]:
    server = serve(SandboxState(), host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def journey(push_sandbox: SandboxServer) -> Iterator[Journey]:
    account = push_sandbox.state.create_account(name="Contract GmbH")
    recorder = RecordingTransport(RebaseTransport(push_sandbox.url))
    result = Journey()
    mappings = MemoryMappings()
    minutes = iter(range(1, 1000))

    def version() -> datetime:
        return datetime(2025, 7, 1, tzinfo=UTC) + timedelta(minutes=next(minutes))

    with httpx.Client(transport=recorder) as http, pytest.MonkeyPatch.context() as patch:
        for name in gateway_methods():
            patch.setattr(SevdeskGateway, name, _counted(getattr(SevdeskGateway, name), name, result.port_calls))
        client = SevdeskClient(
            account.token,
            base_url=SPEC_SERVER_URL,  # what the spec validates; RebaseTransport sends it to the sandbox
            tenant_key=f"{PLATFORM}:{TENANT}",
            http=http,
            timeout=5.0,
            max_attempts=1,  # a retry would hide a failed request's cause; the sandbox has no faults here
            brake=ErrorBrake(max_errors=1000),
            sleep=lambda _seconds: None,
        )

        def service(**settings: Any) -> PushService:
            return build_push_service(client, PLATFORM, TENANT, TenantSettings(**settings), TODAY, mappings=mappings)

        def scenario(name: str, *steps: Callable[[], PushOutcome]) -> None:
            start = len(recorder.requests)
            result.outcomes[name] = [step() for step in steps]
            result.requests[name] = recorder.requests[start:]

        _run_scenarios(scenario, service, version)
    yield result


def _counted(method: Callable[..., Any], name: str, calls: set[str]) -> Callable[..., Any]:
    @wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.add(name)
        return method(*args, **kwargs)

    return wrapper


# --- the scenarios ----------------------------------------------------------------------------

ORGANISATION = organisation(phone="+49 30 5550100", mobile="0171 5550100")
ORGANISATION_CHANGED = organisation(
    company_name="Muster AG",
    customer_number="K-10044",
    emails=["buchhaltung@muster.example", "info@muster.example"],
    phone="+49 30 5550100",
    mobile="0171 5550100",
    billing_address={"street": "Neue Allee 9", "zip": "54321", "city": "Neustadt", "country": "AT"},
)
ORGANISATION_TRIMMED = ORGANISATION_CHANGED.model_copy(
    update={"emails": ["buchhaltung@muster.example"], "mobile": None, "delivery_addresses": []}
)
PERSON = person()
SENT_INVOICE = invoice(
    "inv-1",
    time_to_pay_days=14,
    positions=[
        position(description="Analyse und Workshop", discount_percent="10"),
        position("Fachbuch", quantity="1", unit="Stück", unit_price="25", tax_rate="7"),
    ],
)
SENT_BACK_TO_DRAFT = SENT_INVOICE.model_copy(update={"status": InvoiceStatus.DRAFT})
DRAFT = invoice("inv-3", status="draft", number=None, title="Entwurf")
DRAFT_CHANGED = invoice(
    "inv-3",
    status="draft",
    number=None,
    title="Entwurf",
    invoice_date=date(2025, 7, 2),
    positions=[position(quantity="3.5"), position("Anfahrt", quantity="12", unit="km", unit_price="0.30")],
)
PROJECT = project(
    customer=ORGANISATION_CHANGED.model_dump(),
    appointments=[
        appointment(
            "Rasen mähen",
            day="2025-07-02",
            hours="2.5",
            articles=[{"name": "Dünger", "quantity": "3", "unit": "kg", "unit_price": "4.20"}],
        ),
        appointment("Laub entfernen", hours="1.25"),
    ],
)

SCENARIOS = (
    "organisation created",
    "organisation updated",
    "organisation trimmed",
    "person created (uncertain, e-mail matching)",
    "invoice sent",
    "invoice paid",
    "draft created and its content updated",
    "sent invoice back to draft",
    "project draft",
)


def _run_scenarios(
    scenario: Callable[..., None], service: Callable[..., PushService], version: Callable[[], datetime]
) -> None:
    """The order matters: later scenarios find what earlier ones created (updates, lookups)."""
    by_email = [ContactMatch.MAPPING, ContactMatch.CUSTOMER_NUMBER, ContactMatch.EMAIL]
    scenario(
        "organisation created",  # custom field setting created, customer number checked, 2 addresses, 4 ways
        lambda: service().push_contact(ORGANISATION, version=version(), uncertain=False),
    )
    scenario(
        "organisation updated",  # PUT /Contact, billing address rewritten in place, one more e-mail
        lambda: service().push_contact(ORGANISATION_CHANGED, version=version(), uncertain=False),
    )
    scenario(
        "organisation trimmed",  # what the platform removed goes: DELETE /CommunicationWay, /ContactAddress
        lambda: service().push_contact(ORGANISATION_TRIMMED, version=version(), uncertain=False),
    )
    scenario(
        "person created (uncertain, e-mail matching)",  # custom field value and e-mail lookups first
        lambda: service(contact_matching=by_email).push_contact(PERSON, version=version(), uncertain=True),
    )
    scenario(
        "invoice sent",  # number lookup, units, country, user; saveInvoice, sendBy
        lambda: service().push_invoice(SENT_INVOICE, version=version(), uncertain=False, manual=False),
    )
    scenario(
        "invoice paid",  # after an uncertain attempt: marker lookup, read before booking; check accounts, bookAmount
        lambda: service().push_invoice(
            invoice("inv-2", status="paid", paid_at=date(2025, 7, 3)), version=version(), uncertain=True, manual=False
        ),
    )
    scenario(
        "draft created and its content updated",  # second saveInvoice with invoice.id and invoicePosDelete
        lambda: service().push_invoice(DRAFT, version=version(), uncertain=False, manual=True),
        lambda: service().push_invoice(DRAFT_CHANGED, version=version(), uncertain=False, manual=True),
    )
    scenario(
        "sent invoice back to draft",  # resetToDraft
        lambda: service().push_invoice(SENT_BACK_TO_DRAFT, version=version(), uncertain=False, manual=False),
    )
    scenario(
        "project draft",  # I7: title line on the flat-rate unit, hours, articles
        lambda: service().push_project_draft(PROJECT, version=version(), uncertain=False),
    )


# --- the tests --------------------------------------------------------------------------------


def test_scenarios_did_what_they_claim(journey: Journey) -> None:
    actions = {name: [o.action for o in outcomes] for name, outcomes in journey.outcomes.items()}
    assert actions == {
        "organisation created": ["created"],
        "organisation updated": ["updated"],
        "organisation trimmed": ["updated"],
        "person created (uncertain, e-mail matching)": ["created"],
        "invoice sent": ["created"],
        "invoice paid": ["created"],
        "draft created and its content updated": ["created", "updated"],
        "sent invoice back to draft": ["updated"],
        "project draft": ["created"],
    }
    assert list(journey.requests) == list(SCENARIOS)
    assert "payment booked" in journey.outcomes["invoice paid"][0].message
    trimmed = journey.outcomes["organisation trimmed"][0].message
    assert "email info@muster.example removed" in trimmed and "delivery address Lagerweg 2, Berlin removed" in trimmed
    assert journey.outcomes["sent invoice back to draft"][0].message.endswith("reset to draft")


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_requests_match_spec(journey: Journey, sevdesk_openapi: OpenAPI, name: str) -> None:
    assert_requests_match_spec(journey.requests[name])


def test_every_request_shape_is_covered(journey: Journey) -> None:
    recorded = {shape(r) for r in journey.all_requests()}
    assert sorted(recorded - EXPECTED_SHAPES) == [], "new request shapes: add them to EXPECTED_SHAPES"
    assert sorted(EXPECTED_SHAPES - recorded) == [], "expected shapes no scenario sent any more"


def test_every_gateway_method_is_exercised(journey: Journey) -> None:
    assert sorted(gateway_methods() - journey.port_calls) == []


def test_save_invoice_variants_are_covered(journey: Journey) -> None:
    """Both saveInvoice bodies: a new draft, and a rewrite of one (invoice.id + invoicePosDelete)."""
    saves = [body(r) for r in journey.all_requests() if shape(r)[1] == "/Invoice/Factory/saveInvoice"]
    creates = [b for b in saves if "id" not in b["invoice"]]
    rewrites = [b for b in saves if "id" in b["invoice"]]
    assert creates and all(b["invoicePosDelete"] is None for b in creates)
    assert rewrites and all(isinstance(b["invoicePosDelete"], list) and b["invoicePosDelete"] for b in rewrites)
    positions = [p for b in saves for p in b["invoicePosSave"]]
    assert any("text" in p for p in positions) and any("discount" in p for p in positions)
    assert any("timeToPay" in b["invoice"] for b in saves)
    assert any("invoiceNumber" not in b["invoice"] for b in saves)  # drafts without a number


def test_comm_way_types_are_covered(journey: Journey) -> None:
    sent = [body(r) for r in journey.all_requests() if shape(r) == ("POST", "/CommunicationWay", "")]
    assert {b["type"] for b in sent} == {"EMAIL", "PHONE", "MOBILE", "WEB"}
    assert {b["main"] for b in sent} == {True, False}


def test_invoice_pos_delete_must_be_an_array(journey: Journey, sevdesk_openapi: OpenAPI) -> None:
    """The spec patch for invoicePosDelete rejects what live sevDesk rejects: a single object."""
    [rewrite] = [
        r
        for r in journey.all_requests()
        if shape(r)[1] == "/Invoice/Factory/saveInvoice" and "id" in body(r)["invoice"]
    ]
    single = body(rewrite)
    single["invoicePosDelete"] = single["invoicePosDelete"][0]
    headers = {k: v for k, v in rewrite.headers.items() if k.lower() != "content-length"}
    request = httpx.Request(rewrite.method, rewrite.url, headers=headers, json=single)
    request.read()
    assert any(re.search(r"invoicePosDelete.*is not of type 'array'", p) for p in request_problems(request))


def test_rebase_transport_only_forwards_the_spec_server(push_sandbox: SandboxServer) -> None:
    transport = RebaseTransport(push_sandbox.url)
    with pytest.raises(httpx.UnsupportedProtocol):
        transport.handle_request(httpx.Request("GET", "https://example.org/api/v1/Contact"))
    with pytest.raises(httpx.UnsupportedProtocol):
        transport.handle_request(httpx.Request("GET", "https://my.sevdesk.de/api/v2/Contact"))
    answer = transport.handle_request(httpx.Request("GET", SPEC_SERVER_URL + "/Contact?depth=1"))
    assert answer.status_code == 401  # reached the sandbox (path and query kept), no token sent
    answer.close()
    transport.close()
