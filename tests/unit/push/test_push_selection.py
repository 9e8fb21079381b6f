"""P3: which invoices travel with a contact."""

from __future__ import annotations

from datetime import date

import pytest

from sevbridge.domain.events import Invoice
from sevbridge.domain.push.selection import select_invoices_for_contact

pytestmark = pytest.mark.unit


def _invoice(source_id: str, status: str, day: date) -> Invoice:
    return Invoice.model_validate(
        {
            "source_id": source_id,
            "status": status,
            "invoice_date": day,
            "customer": {"source_id": "c-1", "last_name": "Muster"},
            "positions": [{"name": "x", "quantity": "1", "unit": "Stk", "unit_price": "1", "tax_rate": "19"}],
        }
    )


def test_current_year_sent_and_paid_are_selected_in_order() -> None:
    today = date(2025, 7, 15)
    invoices = [
        _invoice("a", "sent", date(2025, 1, 1)),
        _invoice("b", "draft", date(2025, 6, 1)),
        _invoice("c", "paid", date(2024, 12, 31)),
        _invoice("d", "paid", date(2025, 12, 31)),
        _invoice("e", "sent", date(2026, 1, 2)),
    ]
    selected, skipped = select_invoices_for_contact(invoices, today)

    assert [i.source_id for i in selected] == ["a", "d"]
    assert [(i.source_id, why) for i, why in skipped] == [
        ("b", "draft: not included with the contact; transfer it manually"),
        ("c", "from 2024, before the current year: not included with the contact; transfer it manually"),
        ("e", "from 2026, not the current year: not included with the contact; transfer it manually"),
    ]


def test_old_draft_is_reported_as_draft() -> None:
    _, skipped = select_invoices_for_contact([_invoice("x", "draft", date(2020, 1, 1))], date(2025, 1, 1))
    assert skipped[0][1].startswith("draft:")


def test_nothing_in_nothing_out() -> None:
    assert select_invoices_for_contact([], date(2025, 1, 1)) == ([], [])
