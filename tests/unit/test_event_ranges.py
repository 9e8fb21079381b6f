"""Intake range checks (issue 6 §4): amounts, dates and their formatting, refused with the field named.

Properties are checked with hypothesis over the whole input space of each rule; the worked examples
are the values seen accepted before (paid_amount -100, invoice_date 0001-01-01).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.events import DATE_WINDOW, Invoice
from sevbridge.domain.intake import parse_event
from sevbridge.domain.push.documents import invoice_document
from sevbridge.domain.push.payloads import invoice_body, sevdesk_date

pytestmark = pytest.mark.unit

EARLIEST, LATEST = DATE_WINDOW
GERMAN_DATE = re.compile(r"^\d{2}\.\d{2}\.\d{4}$")


def invoice_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "source_id": "inv-1",
        "number": "RE-1",
        "status": "paid",
        "invoice_date": "2026-03-02",
        "paid_at": "2026-03-10",
        "customer": {"source_id": "c-1", "company_name": "Muster GmbH"},
        "positions": [{"name": "Kurs", "quantity": "2", "unit": "h", "unit_price": "45.00", "tax_rate": "19"}],
    }
    data.update(overrides)
    return data


def event(data: dict[str, Any], type_: str = "invoice.upserted") -> dict[str, Any]:
    return {"id": "evt-1", "type": type_, "occurred_at": "2026-03-10T09:00:00+01:00", "data": data}


def refusal(raw: dict[str, Any]) -> dict[str, str]:
    """field → problem of every detail of the InvalidInput the event is refused with."""
    with pytest.raises(InvalidInput) as refused:
        parse_event(raw)
    return {d["field"]: d["problem"] for d in refused.value.details}


def body_for(invoice: Invoice) -> dict[str, Any]:
    return invoice_body(
        invoice_document(invoice),
        marker="m",
        contact_id="1",
        contact_person_id="2",
        country_id="1",
        unit_ids={p.unit: "9" for p in invoice.positions},
    )["invoice"]


# --- the observed cases ------------------------------------------------------------------------


def test_negative_paid_amount_is_refused_naming_the_field() -> None:
    problems = refusal(event(invoice_data(paid_amount="-100")))
    assert list(problems) == ["data.paid_amount"]
    assert "greater than or equal to 0" in problems["data.paid_amount"]


def test_year_one_is_refused_naming_the_field_and_the_window() -> None:
    problems = refusal(event(invoice_data(invoice_date="0001-01-01", paid_at="0001-01-02")))
    assert set(problems) == {"data.invoice_date", "data.paid_at"}
    assert "must be between 2000-01-01 and 2099-12-31" in problems["data.invoice_date"]


def test_zero_paid_amount_on_a_paid_invoice_is_refused_but_fine_when_sent() -> None:
    problems = refusal(event(invoice_data(paid_amount="0")))
    assert "paid_amount" in next(iter(problems)) and "omit it" in problems["data.paid_amount"]
    parse_event(event(invoice_data(status="sent", paid_amount="0", paid_at=None)))


def test_delivery_after_the_invoice_date_is_refused() -> None:
    problems = refusal(event(invoice_data(delivery_date="2026-03-03")))
    assert list(problems) == ["data.delivery_date"]
    assert "after invoice_date 2026-03-02" in problems["data.delivery_date"]
    parse_event(event(invoice_data(delivery_date="2026-03-02")))  # the same day is fine


def test_discount_line_is_accepted_but_a_negative_total_is_not() -> None:
    discount = {"name": "Rabatt", "quantity": "1", "unit": "Stk", "unit_price": "-20", "tax_rate": "19"}
    _, accepted = parse_event(event(invoice_data(positions=[*invoice_data()["positions"], discount])))
    assert isinstance(accepted, Invoice)
    assert body_for(accepted)  # builds a saveInvoice body with the negative line

    credit = {**discount, "unit_price": "-100"}
    problems = refusal(event(invoice_data(positions=[*invoice_data()["positions"], credit])))
    assert list(problems) == ["data.positions"]
    assert "-10.00" in problems["data.positions"]


def test_embedded_invoices_of_a_contact_event_are_checked_too() -> None:
    contact = {"source_id": "c-1", "company_name": "Muster GmbH"}
    embedded = {k: v for k, v in invoice_data(paid_amount="-5").items() if k != "customer"}
    problems = refusal(event({**contact, "invoices": [embedded]}, "contact.upserted"))
    assert list(problems) == ["data.invoices.0.paid_amount"]


def test_project_amounts_and_days() -> None:
    project = {
        "source_id": "prj-1",
        "title": "Garten",
        "customer": {"source_id": "c-1", "company_name": "Muster GmbH"},
        "hourly_rate": "-45",
        "appointments": [
            {
                "title": "Rasen",
                "state": "done",
                "hours": "2",
                "day": "1999-12-31",
                "articles": [{"name": "Dünger", "quantity": "1", "unit": "kg", "unit_price": "-4"}],
            }
        ],
    }
    problems = refusal(event(project, "project.completed"))
    assert set(problems) == {
        "data.hourly_rate",
        "data.appointments.0.day",
        "data.appointments.0.articles.0.unit_price",
    }


# --- properties --------------------------------------------------------------------------------

any_day = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
amounts = st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=2, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(day=any_day)
def test_a_date_is_accepted_exactly_inside_the_window(day: date) -> None:
    raw = event(invoice_data(status="sent", invoice_date=day.isoformat(), paid_at=None))
    if EARLIEST <= day <= LATEST:
        _, invoice = parse_event(raw)
        assert isinstance(invoice, Invoice)
        sent = body_for(invoice)
        # What sevDesk gets names the same day, with a four-digit year.
        assert GERMAN_DATE.match(sent["invoiceDate"]) and sent["invoiceDate"] == day.strftime("%d.%m.%Y")
        assert datetime.fromisoformat(sent["deliveryDate"]).date() == day
    else:
        assert list(refusal(raw)) == ["data.invoice_date"]


@settings(max_examples=150, deadline=None)
@given(amount=amounts)
def test_a_paid_amount_is_accepted_exactly_when_positive(amount: Decimal) -> None:
    # 2 h at 45.00 + 19 % VAT = 107.10: the most that can be paid (test_event_text_and_payments.py).
    raw = event(invoice_data(paid_amount=str(amount)))
    if 0 < amount <= Decimal("107.10"):
        _, invoice = parse_event(raw)
        assert isinstance(invoice, Invoice) and invoice.paid_amount == amount
    else:
        assert list(refusal(raw)) == ["data.paid_amount"]


@settings(max_examples=150, deadline=None)
@given(prices=st.lists(amounts, min_size=1, max_size=6), quantity=st.integers(min_value=1, max_value=50))
def test_an_invoice_is_accepted_exactly_when_its_total_is_not_negative(prices: list[Decimal], quantity: int) -> None:
    positions = [
        {"name": f"Zeile {i}", "quantity": str(quantity), "unit": "Stk", "unit_price": str(p), "tax_rate": "19"}
        for i, p in enumerate(prices)
    ]
    raw = event(invoice_data(status="sent", paid_at=None, positions=positions))
    if sum(prices) * quantity >= 0:
        parse_event(raw)
    else:
        assert list(refusal(raw)) == ["data.positions"]


@settings(max_examples=100, deadline=None)
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_sevdesk_dates_always_have_four_digit_years(day: date) -> None:
    text = sevdesk_date(day)
    assert GERMAN_DATE.match(text)
    assert datetime.strptime(text, "%d.%m.%Y").date() == day


@settings(max_examples=100, deadline=None)
@given(invoice_day=st.dates(min_value=EARLIEST, max_value=LATEST), offset=st.integers(min_value=-400, max_value=400))
def test_delivery_date_is_accepted_exactly_when_not_after_the_invoice_date(invoice_day: date, offset: int) -> None:
    delivery = invoice_day + timedelta(days=offset)
    if not EARLIEST <= delivery <= LATEST:
        return
    raw = event(
        invoice_data(
            status="sent", paid_at=None, invoice_date=invoice_day.isoformat(), delivery_date=delivery.isoformat()
        )
    )
    if offset <= 0:
        parse_event(raw)
    else:
        assert list(refusal(raw)) == ["data.delivery_date"]
