"""The gateway's readers of sevDesk's loosely typed answers (api-facts §10)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sevbridge.adapters.sevdesk.gateway import booking_timestamp, parse_comm_way, parse_contact, parse_invoice
from sevbridge.domain.sevdesk_errors import SevdeskServerError

pytestmark = pytest.mark.unit


def test_invoice_numbers_as_strings_and_references() -> None:
    invoice = parse_invoice(
        {
            "id": "5000001",
            "invoiceNumber": "RE-1001",
            "status": "1000",
            "customerInternalNote": "sevbridge:x:inv-1",
            "contact": {"id": "1000001", "objectName": "Contact"},
            "sumGross": "264.75",
            "paidAmount": 264.75,
        }
    )
    assert (invoice.id, invoice.number, invoice.status, invoice.contact_id) == ("5000001", "RE-1001", 1000, "1000001")
    assert (invoice.sum_gross, invoice.paid_amount) == (Decimal("264.75"), Decimal("264.75"))


def test_draft_without_number_and_sums() -> None:
    invoice = parse_invoice({"id": 7, "invoiceNumber": None, "status": 100, "contact": None, "sumGross": None})
    assert (invoice.id, invoice.number, invoice.status, invoice.contact_id, invoice.sum_gross) == (
        "7",
        None,
        100,
        None,
        Decimal(0),
    )


def test_cancellation_fields() -> None:
    """api-facts §10: an SR points at what it cancels through `origin`; an order origin is no such link."""
    sr = parse_invoice(
        {
            "id": "5000002",
            "invoiceType": "SR",
            "status": "1000",
            "paidAmount": 0,
            "origin": {"id": "5000001", "objectName": "Invoice"},
            "enshrined": "2026-03-02T10:00:00+01:00",
        }
    )
    assert (sr.invoice_type, sr.origin_invoice_id, sr.enshrined) == ("SR", "5000001", True)
    from_order = parse_invoice({"id": "3", "status": "200", "origin": {"id": "8000001", "objectName": "Order"}})
    assert (from_order.invoice_type, from_order.origin_invoice_id, from_order.enshrined) == ("RE", None, False)
    plain = parse_invoice({"id": "4", "status": "200", "invoiceType": " re ", "enshrined": "0"})
    assert (plain.invoice_type, plain.enshrined) == ("RE", False)


def test_contact_values_are_strings_or_none() -> None:
    contact = parse_contact({"id": "1", "name": None, "surename": "Erika", "customerNumber": 1035, "vatNumber": ""})
    assert contact.customer_number == "1035"
    assert contact.values["surename"] == "Erika"
    assert contact.values["name"] is None and contact.values["vatNumber"] is None


def test_comm_way_flags() -> None:
    way = parse_comm_way({"id": "3", "type": "email", "value": "a@b.c", "main": "1", "contact": {"id": "1"}})
    assert (way.type, way.main, way.contact_id) == ("EMAIL", True, "1")


def test_missing_id_is_an_unexpected_answer() -> None:
    with pytest.raises(SevdeskServerError, match="contact without an id"):
        parse_contact({"name": "X"})


def test_booking_timestamp_is_noon_utc_of_the_day() -> None:
    assert datetime.fromtimestamp(booking_timestamp(date(2025, 7, 3)), UTC) == datetime(2025, 7, 3, 12, tzinfo=UTC)
