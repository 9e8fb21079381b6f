"""Intake refusals found by the outside review: a payment above the invoice's gross total, and control
characters in text fields. Both are 422s naming the field; neither reaches sevDesk."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.events import Invoice, Position, gross_total
from sevbridge.domain.intake import parse_event
from sevdesk_sandbox.resources.document_amounts import Line, calculate
from tests.unit.test_event_ranges import event, invoice_data

pytestmark = pytest.mark.unit

ELEVEN_NINETY = [{"name": "Buch", "quantity": "1", "unit": "Stk", "unit_price": "10.00", "tax_rate": "19"}]


def refusal(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as refused:
        parse_event(raw)
    return {d["field"]: d["problem"] for d in refused.value.details}


# --- paid_amount ---------------------------------------------------------------------------------


def test_a_payment_above_the_gross_total_is_refused_naming_both() -> None:
    # The review's case: positions totalling 11.90, paid_amount 1000 → 1000 was booked in sevDesk.
    problems = refusal(event(invoice_data(positions=ELEVEN_NINETY, paid_amount="1000")))
    assert list(problems) == ["data.paid_amount"]
    assert "is 1000, more than the invoice's gross total 11.90" in problems["data.paid_amount"]


def test_the_exact_total_and_less_are_accepted() -> None:
    for amount in ("11.90", "11.89", "5"):
        _, invoice = parse_event(event(invoice_data(positions=ELEVEN_NINETY, paid_amount=amount)))
        assert isinstance(invoice, Invoice) and invoice.paid_amount == Decimal(amount)
    problems = refusal(event(invoice_data(positions=ELEVEN_NINETY, paid_amount="11.91")))
    assert "gross total 11.90" in problems["data.paid_amount"]


def test_gross_prices_are_the_total_themselves() -> None:
    data = invoice_data(positions=ELEVEN_NINETY, prices="gross", paid_amount="10.01")
    assert "gross total 10.00" in refusal(event(data))["data.paid_amount"]


def test_embedded_invoices_are_checked_too() -> None:
    contact = {
        "source_id": "c-1",
        "company_name": "Muster GmbH",
        "invoices": [{**invoice_data(positions=ELEVEN_NINETY, paid_amount="12"), "customer": None}],
    }
    problems = refusal(event(contact, "contact.upserted"))
    assert list(problems) == ["data.invoices.0.paid_amount"]


positions = st.lists(
    st.builds(
        dict,
        name=st.just("x"),
        unit=st.just("Stk"),
        quantity=st.decimals("0.0001", "1000", places=4),
        unit_price=st.decimals("0", "10000", places=4),
        tax_rate=st.sampled_from(["0", "7", "19"]),
        discount_percent=st.sampled_from([None, "0", "10", "33.33"]),
    ),
    min_size=1,
    max_size=6,
)


@given(positions, st.sampled_from(["net", "gross"]))
def test_the_total_is_the_one_sevdesk_computes(raw: list[dict[str, Any]], prices: str) -> None:
    """Same rounding as the sandbox's saveInvoice (per line to the cent, VAT per rate), so a payment of
    exactly what sevDesk shows as the total is never refused."""
    parsed = [Position.model_validate({k: v for k, v in p.items() if v is not None}) for p in raw]
    lines = [
        Line(
            quantity=p.quantity,
            price=p.unit_price,
            discount_percent=p.discount_percent or Decimal(0),
            tax_rate=p.tax_rate,
        )
        for p in parsed
    ]
    assert gross_total(parsed, prices=prices) == calculate(lines, show_net=prices == "net").sum_gross


# --- control characters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"number": "RE\u00001"}, "data.number"),
        ({"title": "a\u0000"}, "data.title"),
        ({"title": "Rechnung\nMärz"}, "data.title"),  # a single-line field: no line breaks either
        ({"customer": {"source_id": "c-1", "company_name": "Muster\u001bGmbH"}}, "data.customer.company_name"),
        ({"source_id": "inv\u007f1"}, "data.source_id"),
        ({"currency": "E\u0085R"}, "data.currency"),
    ],
)
def test_control_characters_are_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    problems = refusal(event(invoice_data(**overrides)))
    assert field in problems, problems
    assert "control character U+" in problems[field]


def test_position_text_is_checked() -> None:
    position = {**ELEVEN_NINETY[0], "name": "Buch\u0007"}
    problems = refusal(event(invoice_data(positions=[position])))
    assert "data.positions.0.name" in problems


def test_the_envelope_id_is_checked() -> None:
    raw = event(invoice_data())
    raw["id"] = "evt\u00001"
    assert "id" in refusal(raw)


def test_line_breaks_and_tabs_are_fine_in_multiline_fields_only() -> None:
    contact = {
        "source_id": "c-1",
        "company_name": "Muster GmbH",
        "notes": "erste Zeile\r\nzweite\tZeile",
        "billing_address": {"street": "Hinterhaus\nWeg 1", "zip": "10115", "city": "Berlin"},
    }
    parse_event(event(contact, "contact.upserted"))
    position = {**ELEVEN_NINETY[0], "description": "Zeile 1\nZeile 2"}
    parse_event(event(invoice_data(positions=[position])))
    # …but never other control characters, not even there.
    problems = refusal(event({**contact, "notes": "a\u0000b"}, "contact.upserted"))
    assert "only tab, line feed and carriage return are allowed" in problems["data.notes"]


def test_the_problem_never_quotes_the_text() -> None:
    problems = refusal(event(invoice_data(title="geheim\u0000wert")))
    assert "geheim" not in problems["data.title"] and "position 7" in problems["data.title"]
