"""The exact sevDesk requests per document (issue 10 §1), from the sandbox's request log: any extra
request fails here. docs/requests.md says why each one is needed. "Warm" means the tenant's
reference data is cached (units, categories, countries, user, check accounts, our custom-field
setting, the next customer number); what a cold cache adds is pinned too."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sevbridge.adapters.sevdesk.reference_cache import default_reference_cache
from tests.functional.push.builders import invoice, person
from tests.functional.push.conftest import Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]

SENT_KNOWN = ["GET /Invoice", "POST /Invoice/Factory/saveInvoice", "PUT /Invoice/{id}/sendBy"]
PAID_KNOWN = [*SENT_KNOWN, "PUT /Invoice/{id}/bookAmount"]
NEW_PERSON_SENT = [
    "GET /Invoice",  # the number: taken by another document, or ours after a lost mapping row?
    "GET /Contact/Mapper/checkCustomerNumberAvailability",  # the number the create carries is free
    "POST /Contact",
    "POST /ContactCustomField",  # our source id on the contact: finds it again should the row be lost
    "POST /ContactAddress",
    "POST /CommunicationWay",
    "POST /Invoice/Factory/saveInvoice",
    "PUT /Invoice/{id}/sendBy",
]


# By our custom field: a contact whose mapping row was erased (C5).
MARKER_SEARCH = "GET /Contact/Factory/findContactsByCustomFieldValue"


def templated(calls: list[str]) -> list[str]:
    return [re.sub(r"/\d+(?=/|$)", "/{id}", call) for call in calls]


def new_person(source_id: str) -> Any:
    """A person with a billing address and one e-mail (no phone or mobile), no customer number."""
    return person(source_id, phone=None, mobile=None, emails=[f"{source_id}@example.org"])


def paid(source_id: str, **overrides: Any) -> Any:
    data: dict[str, Any] = {"status": "paid", "paid_amount": Decimal("264.75"), "paid_at": date(2025, 7, 10)}
    return invoice(source_id, **{**data, **overrides})


def push(tenant: Tenant, document: Any, version: Version, *, uncertain: bool = False) -> list[str]:
    """One invoice pushed like the worker does it (a fresh service), the requests it made."""
    start = tenant.request_count()
    outcome = tenant.service().push_invoice(document, version=version(), uncertain=uncertain, manual=False)
    assert outcome.action == "created", outcome.message
    return templated(tenant.calls_since(start))


def test_sent_invoice_known_customer(tenant: Tenant, version: Version) -> None:
    push(tenant, invoice("inv-1"), version)

    assert push(tenant, invoice("inv-2"), version) == SENT_KNOWN
    [_, inv] = tenant.invoices()
    assert inv["status"] == "200" and inv["contact"]["id"] == tenant.contacts()[0]["id"]


def test_paid_invoice_known_customer(tenant: Tenant, version: Version) -> None:
    push(tenant, paid("inv-1"), version)  # the check account is known from here on

    assert push(tenant, paid("inv-2"), version) == PAID_KNOWN
    [_, inv] = tenant.invoices()
    assert (inv["status"], Decimal(str(inv["paidAmount"]))) == ("1000", Decimal("264.75"))
    row = tenant.mappings.get("plat-1", tenant.tenant_id, "invoice", "inv-2")
    assert row is not None and row.status == 1000  # taken from bookAmount's answer, not a read-back


def test_partial_payment_state_comes_from_the_booking_answer(tenant: Tenant, version: Version) -> None:
    push(tenant, paid("inv-1"), version)

    calls = push(tenant, paid("inv-2", paid_amount=Decimal("100")), version)

    assert calls == PAID_KNOWN
    row = tenant.mappings.get("plat-1", tenant.tenant_id, "invoice", "inv-2")
    assert row is not None and row.status == 750
    assert tenant.invoices()[1]["status"] == "750"


def test_new_person_with_address_and_email_and_sent_invoice_warm(tenant: Tenant, version: Version) -> None:
    push(tenant, invoice("inv-0", customer=new_person("c-0")), version)  # warms the tenant's cache

    calls = push(tenant, invoice("inv-1", customer=new_person("c-1")), version)
    # The account has marked contacts now, all marked by this connection (it created our field setting),
    # each with a mapping row: a contact without a row is not looked for by our marker.
    assert calls == NEW_PERSON_SENT
    numbers = sorted(c["customerNumber"] for c in tenant.contacts())
    assert len(set(numbers)) == 2  # the guessed number was checked free and used once


def test_new_person_with_address_and_email_and_sent_invoice_cold(tenant: Tenant, version: Version) -> None:
    calls = push(tenant, invoice("inv-1", customer=new_person("c-1")), version)

    reference = [
        "GET /Unity",
        "GET /StaticCountry",
        "GET /SevUser",
        "GET /Category",  # contact categories
        "GET /ContactCustomFieldSetting",
        "GET /Contact/Factory/getNextCustomerNumber",
        "GET /Category",  # address categories
        "POST /ContactCustomFieldSetting",  # the first marked contact of this account
    ]
    assert sorted(calls) == sorted([*NEW_PERSON_SENT, *reference])


def test_contact_event_with_nothing_changed_costs_nothing(tenant: Tenant, version: Version) -> None:
    tenant.service().push_contact(new_person("c-1"), version=version(), uncertain=False)
    start = tenant.request_count()

    outcome = tenant.service().push_contact(new_person("c-1"), version=version(), uncertain=False)

    assert outcome.action == "unchanged"
    assert tenant.calls_since(start) == []


def test_stale_guess_of_the_next_customer_number_asks_sevdesk(tenant: Tenant, version: Version) -> None:
    """The cached next number was taken meanwhile (a contact made in sevDesk): sevDesk is asked."""
    tenant.service().push_contact(new_person("c-1"), version=version(), uncertain=False)
    [first] = tenant.contacts()
    taken = str(int(first["customerNumber"]) + 1)
    tenant.sandbox.state.seed(tenant.account.account_id, "Contact", {"name": "Von Hand GmbH", "customerNumber": taken})

    outcome = tenant.service().push_contact(new_person("c-2"), version=version(), uncertain=False)

    assert outcome.action == "created" and outcome.sevdesk_number == str(int(taken) + 1)
    assert len({c["customerNumber"] for c in tenant.contacts()}) == 3


def test_uncertain_attempt_looks_for_our_marker_first(tenant: Tenant, version: Version) -> None:
    """An earlier attempt's outcome unknown: the marker search runs before anything is created."""
    push(tenant, invoice("inv-1"), version)

    calls = push(tenant, invoice("inv-2"), version, uncertain=True)

    # Our marker, then the number; the customer's mapping row is complete and unchanged: no read.
    assert calls == ["GET /Invoice", *SENT_KNOWN]


def test_reference_cache_survives_a_new_container(tenant: Tenant, version: Version) -> None:
    """The DynamoDB tier: a container whose process cache is empty reads the tenant's reference data
    from the tenants table (no sevDesk call), not from sevDesk."""
    from sevbridge.adapters.sevdesk.gateway import shared_reference_cache

    cache = shared_reference_cache(tenant.mappings._table)
    try:
        start = tenant.request_count()
        tenant.service(reference_cache=cache).push_invoice(
            paid("inv-1"), version=version(), uncertain=False, manual=False
        )
        assert "GET /Unity" in templated(tenant.calls_since(start))
        cache.reset()  # a new container: nothing in the process

        assert push_with(tenant, cache, paid("inv-2"), version) == PAID_KNOWN
    finally:
        default_reference_cache.store = None


def push_with(tenant: Tenant, cache: Any, document: Any, version: Version) -> list[str]:
    start = tenant.request_count()
    outcome = tenant.service(reference_cache=cache).push_invoice(
        document, version=version(), uncertain=False, manual=False
    )
    assert outcome.action == "created", outcome.message
    return templated(tenant.calls_since(start))


def test_contacts_of_an_offboarded_tenant_are_found_again_not_copied(
    tenant: Tenant, version: Version, table: str
) -> None:
    """Offboarding (C5) erases the mapping rows; the contacts stay in sevDesk. Connected again, the
    same platform contact is found by our marker instead of being created a second time."""
    import boto3

    push(tenant, invoice("inv-1", customer=new_person("c-1")), version)
    dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})

    calls = push(tenant, invoice("inv-2", customer=new_person("c-1")), version)
    assert MARKER_SEARCH in calls and "POST /Contact" not in calls
    assert len(tenant.contacts()) == 1


def test_an_uncertain_push_of_a_new_contact_looks_for_our_marker_despite_the_proof(
    tenant: Tenant, version: Version
) -> None:
    """This connection created our field setting (the proof), but an earlier attempt may have marked the
    contact before its row was written: with doubt the search runs."""
    push(tenant, invoice("inv-0", customer=new_person("c-0")), version)  # creates the setting: the proof

    calls = push(tenant, invoice("inv-1", customer=new_person("c-1")), version, uncertain=True)

    assert MARKER_SEARCH in calls


def test_a_contact_linked_by_customer_number_gets_its_row_before_our_marker(
    tenant: Tenant, version: Version, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof rests on "every contact this connection marks has a row": a sevDesk contact matched by
    customer number gets its row before the custom field is written, so a worker dying in between
    leaves a row, not a marked contact that a later push would not look for."""
    push(tenant, invoice("inv-0", customer=new_person("c-0")), version)  # the proof
    existing = tenant.sandbox.state.seed(
        tenant.account.account_id,
        "Contact",
        {"surename": "Erika", "familyname": "Alt", "customerNumber": "K-77", "category": 3},
    )
    real_put = tenant.mappings.put
    puts: list[tuple[int, Any]] = []

    def recording_put(platform_id: str, tenant_id: str, row: Any) -> None:
        puts.append((tenant.request_count(), row))
        real_put(platform_id, tenant_id, row)

    monkeypatch.setattr(tenant.mappings, "put", recording_put)
    start = tenant.request_count()

    outcome = tenant.service().push_contact(
        person("c-1", phone=None, mobile=None, customer_number="K-77"), version=version(), uncertain=False
    )

    assert outcome.sevdesk_id == str(existing["id"])
    log = tenant.calls_since(start)
    marked_at = start + log.index("POST /ContactCustomField")
    linked = [at for at, row in puts if row.kind == "contact" and row.sevdesk_id == str(existing["id"])]
    assert linked and linked[0] <= marked_at, (puts, log)
    assert len(tenant.contacts()) == 2
