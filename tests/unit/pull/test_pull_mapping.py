"""Mapping rules M1–M4 on payloads in the live API's shape (numbers and flags as strings, nulls,
references as {id, objectName} or expanded, `objects` as a list or a single object)."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sevbridge.domain.pull.map_articles import is_article, map_article
from sevbridge.domain.pull.map_contacts import is_customer, map_contact
from sevbridge.domain.pull.map_invoices import (
    cancellations_of,
    cancelled_invoice_id,
    in_scope,
    invoice_customer,
    is_cancellation,
    map_invoice,
    may_be_cancelled,
    needs_addresses,
    needs_ways,
)
from sevbridge.domain.pull.map_orders import is_order_confirmation, map_order
from sevbridge.domain.pull.records import AddressRecord, record_hash
from sevbridge.domain.pull.wire import rows

pytestmark = pytest.mark.unit
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# --- M1 contacts ---------------------------------------------------------------------------------


def test_organisation_with_several_addresses_and_ways() -> None:
    row = fixture("contact_organisation.json")
    assert is_customer(row)
    record = map_contact(row)
    assert record.kind == "organisation"
    assert (record.organisation_name, record.first_name, record.last_name) == ("Muster Haustechnik GmbH", None, None)
    assert (record.customer_number, record.vat_id, record.description) == (
        "1035",
        "DE123456789",
        "Stammkunde seit 2019",
    )
    # Two invoice addresses: the first by id (no main address marked), the other one is not reported.
    assert record.billing_address == AddressRecord(street="Hauptstr. 5", zip="10115", city="Berlin", country="DE")
    assert [a.street for a in record.delivery_addresses] == ["Lagerweg 2", "Baustelle 9"]
    assert record.delivery_addresses[1].name == "Baustelle Haus B"
    # At most two e-mails, main first; one phone, the main one; two mobiles (MOBILE or a PHONE with key Mobil).
    assert record.emails == ["buchhaltung@muster.example", "info@muster.example"]
    assert record.phone == "+49 30 7654321"
    assert record.mobiles == ["0171 1111111", "0172 2222222"]


def test_main_address_wins_when_the_api_names_one() -> None:
    row = fixture("contact_organisation.json")
    row["mainAddress"] = {"id": "2000009", "objectName": "ContactAddress"}
    assert map_contact(row).billing_address is not None
    assert map_contact(row).billing_address.country == "AT"  # type: ignore[union-attr]


def test_person_and_fallback_billing_address() -> None:
    row = fixture("contact_person.json")
    record = map_contact(row)
    assert record.kind == "person"
    assert (record.title, record.academic_title, record.first_name, record.last_name, record.name_suffix) == (
        "Frau",
        "Dr.",
        "Erika",
        "Mustermann",
        "geb. Beispiel",
    )
    assert record.parent_sevdesk_id == "1035001"
    # No invoice address (category 47): the first address that is not a delivery address.
    assert record.billing_address is not None and record.billing_address.street == "Privatweg 3"
    assert (record.emails, record.mobiles, record.phone, record.delivery_addresses) == ([], [], None, [])


def test_a_removed_address_disappears_and_changes_the_hash() -> None:
    row = fixture("contact_organisation.json")
    before = map_contact(row)
    row["addresses"] = [a for a in row["addresses"] if a["id"] != "2000011"]
    after = map_contact(row)
    assert [a.street for a in after.delivery_addresses] == ["Lagerweg 2"]
    assert record_hash(before) != record_hash(after)
    # Order of embedded rows and unrelated fields do not change the record.
    shuffled = fixture("contact_organisation.json")
    shuffled["addresses"].reverse()
    shuffled["communicationWays"].reverse()
    shuffled["defaultDiscountPercentage"] = "0"
    assert record_hash(map_contact(shuffled)) == record_hash(before)


def test_contact_without_embeds_and_non_customers() -> None:
    row = fixture("contact_organisation.json")
    del row["addresses"], row["communicationWays"]
    record = map_contact(row)
    assert (record.billing_address, record.emails) == (None, [])
    row["category"] = {"id": "2", "objectName": "Category"}
    assert not is_customer(row)


# --- M2 articles ----------------------------------------------------------------------------------


def test_article() -> None:
    row = fixture("part.json")
    assert is_article(row)
    record = map_article(row)
    assert (record.name, record.number, record.description) == (
        "Wartung Heizungsanlage",
        "ART-0042",
        "inkl. Abgasmessung",
    )
    assert record.unit is not None and (record.unit.name, record.unit.sevdesk_id) == ("Std", "9")
    assert (record.net_price, record.gross_price, record.tax_rate, record.active) == (
        Decimal("89.5"),
        Decimal("106.51"),
        Decimal(19),
        True,
    )
    inactive = {**row, "status": "50", "priceNet": None}
    assert map_article(inactive).active is False
    assert map_article(inactive).net_price == Decimal("89.5")  # `price` when priceNet is empty


def test_article_category_without_embed() -> None:
    row = {**fixture("part.json"), "category": {"id": "40", "objectName": "Category"}}
    assert not is_article(row)
    assert is_article(row, "Artikel")
    assert not is_article(row, "Material")
    assert not is_article({**row, "category": None})


# --- M3 order confirmations -------------------------------------------------------------------------


def test_order_confirmation_with_positions_resolved_to_platform_ids() -> None:
    data = fixture("order_confirmation.json")
    order, positions = data["order"], data["positions"]
    assert is_order_confirmation(order)
    record = map_order(
        order,
        positions,
        customer_source_id_of={"1035001": "crm-42"}.get,
        article_source_id_of=lambda _id: None,
    )
    assert (record.number, record.order_date, record.status, record.sevdesk_status) == (
        "AB-1005",
        date(2026, 9, 1),
        "sent",
        200,
    )
    assert record.customer is not None
    assert (record.customer.sevdesk_id, record.customer.source_id, record.customer.name) == (
        "1035001",
        "crm-42",
        "Muster Haustechnik GmbH",
    )
    assert (record.net_amount, record.tax_amount, record.gross_amount) == (
        Decimal("229.00"),
        Decimal("43.51"),
        Decimal("272.51"),
    )
    first, second, third = record.positions  # by positionNumber, not by id
    assert (first.name, first.quantity, first.unit_price, first.tax_rate) == (
        "Wartung Heizungsanlage",
        Decimal(2),
        Decimal("89.5"),
        Decimal(19),
    )
    assert first.unit is not None and first.unit.name == "Std"
    assert first.article is not None and (first.article.sevdesk_id, first.article.number) == ("7000042", "ART-0042")
    assert second.article is None and second.unit is not None and second.unit.name == "pauschal"
    assert third.optional is True and third.discount == Decimal(10)


@pytest.mark.parametrize(
    ("order_type", "status", "imported"),
    [("AB", "200", True), ("AB", "1000", True), ("AB", "100", False), ("AN", "200", False), ("LI", "200", False)],
)
def test_order_scope(order_type: str, status: str, imported: bool) -> None:
    order = {**fixture("order_confirmation.json")["order"], "orderType": order_type, "status": status}
    assert is_order_confirmation(order) is imported


# --- M4 invoices ----------------------------------------------------------------------------------


@pytest.fixture
def invoices() -> dict[str, dict[str, Any]]:
    return fixture("invoices.json")  # type: ignore[no-any-return]


def test_open_invoice_with_customer_data(invoices: dict[str, dict[str, Any]]) -> None:
    row = invoices["open"]
    assert in_scope(row) and not may_be_cancelled(row) and not needs_ways(row)
    customer = invoice_customer(row, source_id="crm-42")
    record = map_invoice(row, customer=customer)
    assert (record.number, record.invoice_date, record.status, record.sevdesk_status, record.invoice_type) == (
        "RE-1001",
        date(2026, 9, 1),
        "open",
        200,
        "RE",
    )
    assert (record.net_amount, record.gross_amount, record.paid_amount, record.currency, record.time_to_pay_days) == (
        Decimal("100.00"),
        Decimal("119.00"),
        Decimal("0.00"),
        "EUR",
        14,
    )
    assert customer.model_dump() == {
        "sevdesk_id": "1035001",
        "source_id": "crm-42",
        "email": "buchhaltung@muster.example",
        "company": "Muster Haustechnik GmbH",
        "title": None,
        "first_name": None,
        "last_name": None,
        "street": "Hauptstr. 5",
        "zip": "10115",
        "city": "Berlin",
        "country": "DE",
        "phone": "+49 30 7654321",
    }


def test_paid_and_partially_paid(invoices: dict[str, dict[str, Any]]) -> None:
    paid = map_invoice(invoices["paid"], customer=invoice_customer(invoices["paid"]))
    assert (paid.status, paid.paid_amount) == ("paid", Decimal("119.00"))
    assert not may_be_cancelled(invoices["paid"])
    partial = map_invoice(invoices["partially_paid"], customer=invoice_customer(invoices["partially_paid"]))
    assert (partial.status, partial.sevdesk_status, partial.paid_amount) == ("open", 750, Decimal("59.50"))


def test_a_cancelled_invoice_and_its_cancellation_never_read_as_paid(invoices: dict[str, dict[str, Any]]) -> None:
    original, sr = invoices["cancelled_original"], invoices["cancellation"]
    # Status 1000 with nothing paid: only an SR pointing at it can tell paid from cancelled.
    assert may_be_cancelled(original)
    assert is_cancellation(sr) and not in_scope(sr) and cancelled_invoice_id(sr) == original["id"]
    assert cancellations_of([invoices["open"], sr], original["id"]) == [sr["id"]]
    record = map_invoice(original, customer=invoice_customer(original), cancelled_by=sr["id"])
    assert (record.status, record.paid_amount, record.cancelled_by_sevdesk_id) == (
        "cancelled",
        Decimal("0.00"),
        sr["id"],
    )
    # An SR whose origin is an order cancels no invoice.
    assert cancelled_invoice_id({**sr, "origin": {"id": original["id"], "objectName": "Order"}}) is None


def test_drafts_and_other_documents_are_not_imported(invoices: dict[str, dict[str, Any]]) -> None:
    assert not in_scope(invoices["draft"])
    assert not in_scope(invoices["reminder"])
    assert in_scope({**invoices["open"], "invoiceType": "AR"})


def test_person_without_email_and_without_printed_address(invoices: dict[str, dict[str, Any]]) -> None:
    row = invoices["person_without_email"]
    customer = invoice_customer(row)
    assert customer.email is None  # → flagged unassignable by the import
    assert (customer.title, customer.first_name, customer.last_name, customer.company) == (
        "Frau",
        "Erika",
        "Mustermann",
        None,
    )
    # No address parts on the invoice: the contact's billing address.
    assert (customer.street, customer.zip, customer.city, customer.country) == (
        "Privatweg 3",
        "12345",
        "Musterstadt",
        "DE",
    )


def test_communication_ways_read_separately(invoices: dict[str, dict[str, Any]]) -> None:
    row = copy.deepcopy(invoices["open"])
    ways = row["contact"].pop("communicationWays")
    assert needs_ways(row)
    assert invoice_customer(row).email is None
    assert invoice_customer(row, ways=ways).email == "buchhaltung@muster.example"


def test_objects_as_list_or_single_object() -> None:
    single = fixture("part.json")
    assert rows(single) == [single] and rows([single, "junk", None]) == [single] and rows(None) == []


def test_customer_details_from_the_contacts_import(invoices: dict[str, dict[str, Any]]) -> None:
    row = copy.deepcopy(invoices["open"])
    row["contact"].pop("communicationWays")
    known = invoice_customer(row, known=("from-index@example.org", "+49 1"))
    assert (known.email, known.phone) == ("from-index@example.org", "+49 1")
    assert invoice_customer(row, known=(None, None)).email is None  # the contacts import saw no e-mail


def test_contact_addresses_read_separately_when_nothing_was_printed(invoices: dict[str, dict[str, Any]]) -> None:
    row = copy.deepcopy(invoices["person_without_email"])
    addresses = row["contact"].pop("addresses")
    assert needs_addresses(row)
    assert invoice_customer(row).street is None
    assert invoice_customer(row, addresses=addresses).street == "Privatweg 3"
    assert not needs_addresses(invoices["open"])  # the invoice printed its address
