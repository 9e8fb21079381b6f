"""Content fingerprints: what counts as a change of an invoice or project draft."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sevbridge.domain.events import Invoice, Project
from sevbridge.domain.push.documents import address_hash, invoice_content_hash, invoice_document
from sevbridge.domain.push.projects import project_content_hash

pytestmark = pytest.mark.unit


def _invoice(**overrides: Any) -> Invoice:
    data: dict[str, Any] = {
        "source_id": "inv-1",
        "number": "RE-1",
        "status": "sent",
        "invoice_date": date(2025, 7, 1),
        "customer": {
            "source_id": "c-1",
            "last_name": "Muster",
            "phone": "030 1",
            "billing_address": {"street": "A 1", "zip": "1", "city": "B"},
        },
        "positions": [{"name": "x", "quantity": "1.5", "unit": "h", "unit_price": "10.50", "tax_rate": "19"}],
    }
    data.update(overrides)
    return Invoice.model_validate(data)


def test_hash_is_stable_across_decimal_spellings() -> None:
    same = _invoice(
        positions=[{"name": "x", "quantity": "1.50", "unit": "h", "unit_price": "10.5", "tax_rate": "19.00"}]
    )
    assert invoice_content_hash(_invoice()) == invoice_content_hash(same)


@pytest.mark.parametrize(
    "change",
    [
        {"number": "RE-2"},
        {"invoice_date": date(2025, 7, 2)},
        {"delivery_date": date(2025, 6, 30)},
        {"title": "Anders"},
        {"tax_rule": 11},
        {"prices": "gross"},
        {"positions": [{"name": "x", "quantity": "2", "unit": "h", "unit_price": "10.5", "tax_rate": "19"}]},
        {"customer": {"source_id": "c-2", "last_name": "Muster"}},
    ],
)
def test_content_changes_change_the_hash(change: dict[str, Any]) -> None:
    assert invoice_content_hash(_invoice(**change)) != invoice_content_hash(_invoice())


@pytest.mark.parametrize("change", [{"status": "paid"}, {"paid_at": date(2025, 7, 3)}, {"paid_amount": "12"}])
def test_status_and_payment_are_not_content(change: dict[str, Any]) -> None:
    assert invoice_content_hash(_invoice(**change)) == invoice_content_hash(_invoice())


def test_customer_details_change_the_address_hash_only_when_printed() -> None:
    base = _invoice()
    phone = _invoice(customer={**base.customer.model_dump(), "phone": "030 2"})
    moved = _invoice(customer={**base.customer.model_dump(), "billing_address": {"street": "C 3", "city": "B"}})
    assert invoice_content_hash(phone) == invoice_content_hash(moved) == invoice_content_hash(base)
    assert address_hash(phone.customer) == address_hash(base.customer)
    assert address_hash(moved.customer) != address_hash(base.customer)


def test_invoice_document_defaults() -> None:
    spec = invoice_document(_invoice(number=None))
    assert spec.delivery_date == spec.invoice_date
    assert spec.header == "Rechnung"
    assert spec.show_net is True
    assert invoice_document(_invoice()).header == "Rechnung RE-1"


def test_project_hash_ignores_customer_details_but_not_appointments() -> None:
    data: dict[str, Any] = {
        "source_id": "p",
        "title": "T",
        "customer": {"source_id": "c", "company_name": "X"},
        "hourly_rate": "50",
        "appointments": [{"title": "a", "state": "done", "hours": "1"}],
    }
    base = Project.model_validate(data)
    renamed = Project.model_validate({**data, "customer": {"source_id": "c", "company_name": "Y"}})
    longer = Project.model_validate({**data, "appointments": [{"title": "a", "state": "done", "hours": "2"}]})
    assert project_content_hash(base) == project_content_hash(renamed)
    assert project_content_hash(base) != project_content_hash(longer)
