"""saveInvoice / contact bodies and markers, built without sevDesk."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sevbridge.adapters.sevdesk.envelope import dump_body
from sevbridge.domain.events import Contact, Invoice
from sevbridge.domain.push.documents import invoice_content_hash, invoice_document
from sevbridge.domain.push.markers import MAX_MARKER, contact_marker, document_marker
from sevbridge.domain.push.payloads import contact_fields, invoice_body, new_contact_body

pytestmark = pytest.mark.unit


def _invoice(**overrides: Any) -> Invoice:
    data: dict[str, Any] = {
        "source_id": "inv-1",
        "number": "RE-1",
        "status": "sent",
        "invoice_date": date(2025, 7, 1),
        "time_to_pay_days": 14,
        "customer": {
            "source_id": "c-1",
            "company_name": "Muster GmbH",
            "billing_address": {"street": "Hauptstr. 5", "zip": "10115", "city": "Berlin", "name": "Buchhaltung"},
        },
        "positions": [
            {
                "name": "Beratung",
                "description": "Juni",
                "quantity": "2.5",
                "unit": "h",
                "unit_price": "100.005",
                "tax_rate": "19",
            },
            {
                "name": "Buch",
                "quantity": "1",
                "unit": "Stk",
                "unit_price": "25",
                "tax_rate": "7",
                "discount_percent": "10",
            },
        ],
    }
    data.update(overrides)
    return Invoice.model_validate(data)


def _body(invoice: Invoice, **kw: Any) -> dict[str, Any]:
    return invoice_body(
        invoice_document(invoice),
        marker="sevbridge:abc:inv-1",
        contact_id="1001",
        contact_person_id="520001",
        country_id="1",
        unit_ids={"h": "9", "Stk": "1"},
        **kw,
    )


def test_new_invoice_body() -> None:
    body = _body(_invoice())
    inv = body["invoice"]
    assert list(body) == [
        "invoice",
        "invoicePosSave",
        "invoicePosDelete",
        "discountSave",
        "discountDelete",
        "takeDefaultAddress",
    ]
    assert (body["invoicePosDelete"], body["discountSave"], body["discountDelete"]) == (None, None, None)
    assert body["takeDefaultAddress"] is False
    assert "id" not in inv
    assert inv["status"] == "100" and inv["invoiceType"] == "RE" and inv["mapAll"] is True
    assert inv["taxRule"] == {"id": 1, "objectName": "TaxRule"} and inv["taxRate"] == 0
    assert inv["taxText"] == "Umsatzsteuer"
    # invoiceDate: "timestamp or dd.mm.yyyy"; deliveryDate: a date-time in both specs (Berlin midnight)
    assert (inv["invoiceDate"], inv["deliveryDate"]) == ("01.07.2025", "2025-07-01T00:00:00+02:00")
    assert inv["contact"] == {"id": "1001", "objectName": "Contact"}
    assert inv["contactPerson"] == {"id": "520001", "objectName": "SevUser"}
    assert inv["addressCountry"] == {"id": "1", "objectName": "StaticCountry"}
    assert inv["address"] == "Buchhaltung\nHauptstr. 5\n10115 Berlin"
    assert (inv["addressName"], inv["addressStreet"], inv["addressZip"], inv["addressCity"]) == (
        "Buchhaltung",
        "Hauptstr. 5",
        "10115",
        "Berlin",
    )
    assert (inv["invoiceNumber"], inv["header"], inv["timeToPay"]) == ("RE-1", "Rechnung RE-1", 14)
    assert inv["customerInternalNote"] == "sevbridge:abc:inv-1"
    assert inv["showNet"] is True and inv["currency"] == "EUR"
    assert "deliveryAddressCountry" not in inv


def test_positions_carry_the_platforms_prices_and_quantities_exactly() -> None:
    first, second = _body(_invoice())["invoicePosSave"]
    assert first == {
        "objectName": "InvoicePos",
        "mapAll": True,
        "positionNumber": 0,
        "name": "Beratung",
        "quantity": Decimal("2.5"),
        "price": Decimal("100.005"),  # never rounded to cents
        "unity": {"id": "9", "objectName": "Unity"},
        "taxRate": Decimal("19"),
        "text": "Juni",
    }
    assert (second["positionNumber"], second["discount"], second["price"]) == (1, Decimal("10"), Decimal("25"))
    assert "text" not in second


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("0.0125", "0.0125"),  # 0.0125 €/kWh: 10 000 kWh are 125 €, not 100 €
        ("0.0001", "0.0001"),
        ("1.50", "1.5"),
        ("1.5000", "1.5"),
        ("100.00", "100"),
        ("100", "100"),
        ("9999999999.9999", "9999999999.9999"),
    ],
)
def test_unit_price_is_sent_exactly_only_its_notation_normalised(sent: str, expected: str) -> None:
    inv = _invoice(
        positions=[{"name": "Strom", "quantity": "10000", "unit": "Stk", "unit_price": sent, "tax_rate": "19"}]
    )
    [pos] = _body(inv)["invoicePosSave"]
    assert str(pos["price"]) == expected  # no trailing zeros, no exponent (1E+2)
    assert pos["price"] == Decimal(sent)  # the same value
    assert json.loads(dump_body(pos))["price"] == float(expected)  # and the same JSON number on the wire


def test_prices_written_with_or_without_trailing_zeros_hash_the_same() -> None:
    plain = _invoice(positions=[{"name": "Strom", "quantity": "2", "unit": "h", "unit_price": "1.5", "tax_rate": "19"}])
    padded = _invoice(
        positions=[{"name": "Strom", "quantity": "2.000", "unit": "h", "unit_price": "1.5000", "tax_rate": "19.00"}]
    )
    finer = _invoice(
        positions=[{"name": "Strom", "quantity": "2", "unit": "h", "unit_price": "1.5001", "tax_rate": "19"}]
    )
    assert invoice_content_hash(plain) == invoice_content_hash(padded)
    assert invoice_content_hash(plain) != invoice_content_hash(finer)  # a sub-cent change is a change


def test_rewrite_of_a_draft_deletes_the_old_positions() -> None:
    body = _body(_invoice(), existing_id="5000001", delete_position_ids=["6000001", "6000002"])
    assert body["invoice"]["id"] == "5000001"
    assert body["invoicePosDelete"] == [
        {"id": "6000001", "objectName": "InvoicePos"},
        {"id": "6000002", "objectName": "InvoicePos"},
    ]


def test_person_without_billing_address_gets_a_name_line() -> None:
    inv = _invoice(customer={"source_id": "c", "title": "Dr.", "first_name": "Erika", "last_name": "M"}, prices="gross")
    body = _body(inv)["invoice"]
    assert body["address"] == "Dr. Erika M"
    assert body["addressStreet"] is None and body["showNet"] is False


def test_oss_rule_sends_the_delivery_country() -> None:
    inv = _invoice(
        tax_rule=19,
        customer={"source_id": "c", "company_name": "SA", "billing_address": {"city": "Paris", "country": "FR"}},
    )
    assert _body(inv)["invoice"]["deliveryAddressCountry"] == "fr"


def test_contact_fields_person_and_organisation() -> None:
    person = Contact(source_id="c", first_name="Erika", last_name="M", title="Dr.", notes="n", vat_id="DE1")
    org = Contact(source_id="o", company_name="Muster GmbH", customer_number="K-1", first_name="ignored")
    assert contact_fields(person) == {
        "surename": "Erika",
        "familyname": "M",
        "titel": "Dr.",
        "vatNumber": "DE1",
        "description": "n",
    }
    assert contact_fields(org) == {"name": "Muster GmbH", "customerNumber": "K-1"}
    assert new_contact_body(org, "3") == {
        "name": "Muster GmbH",
        "customerNumber": "K-1",
        "category": {"id": "3", "objectName": "Category"},
        "status": 1000,
    }


def test_markers_are_scoped_bounded_and_distinct() -> None:
    a = document_marker("p1", "t1", "invoice", "inv-1")
    assert a.startswith("sevbridge:") and a.endswith(":inv-1")
    assert a != document_marker("p1", "t2", "invoice", "inv-1") != document_marker("p2", "t1", "invoice", "inv-1")
    assert document_marker("p1", "t1", "project", "inv-1").endswith(":project:inv-1")
    long_one = document_marker("p1", "t1", "invoice", "x" * 128)
    assert len(long_one) <= MAX_MARKER
    assert long_one != document_marker("p1", "t1", "invoice", "x" * 127 + "y")
    assert contact_marker("p1", "c-1") == "p1:c-1"
