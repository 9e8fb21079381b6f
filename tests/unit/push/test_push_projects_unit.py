"""I7 pure parts: the acceptance check and the draft's layout."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.events import Project
from sevbridge.domain.push.projects import check_project, project_document

pytestmark = pytest.mark.unit


def _project(appointments: list[dict[str, Any]], **overrides: Any) -> Project:
    data: dict[str, Any] = {
        "source_id": "p",
        "title": "Umbau",
        "customer": {"source_id": "c", "company_name": "X"},
        "hourly_rate": "60",
        "appointments": appointments,
    }
    data.update(overrides)
    return Project.model_validate(data)


def test_check_project_needs_a_done_appointment() -> None:
    with pytest.raises(InvalidInput, match="project 'Umbau' has no appointment in state done"):
        check_project(_project([{"title": "a", "state": "planned"}, {"title": "b", "state": "cancelled"}]))
    check_project(_project([{"title": "a", "state": "done"}]))


def test_layout_title_then_appointments_each_followed_by_its_articles() -> None:
    project = _project(
        [
            {
                "title": "Tag 1",
                "state": "done",
                "hours": "8",
                "day": "2025-03-01",
                "articles": [
                    {"name": "Schrauben", "quantity": "100", "unit": "Stk", "unit_price": "0.05", "tax_rate": "19"}
                ],
            },
            {"title": "Tag 2", "state": "planned", "hours": "8"},
            {"title": "Tag 3", "state": "done", "hours": "4.5"},
        ],
        hour_unit="h",
        tax_rate="7",
    )
    spec = project_document(project, today=date(2025, 4, 1))

    assert [(x.name, x.text, x.quantity, x.unit, x.price, x.tax_rate, x.unit_fallback) for x in spec.lines] == [
        ("Umbau", None, Decimal(1), "pauschal", Decimal(0), Decimal(7), "h"),
        ("Tag 1", "01.03.2025", Decimal(8), "h", Decimal(60), Decimal(7), None),
        ("Schrauben", None, Decimal(100), "Stk", Decimal("0.05"), Decimal(19), None),
        ("Tag 3", None, Decimal("4.5"), "h", Decimal(60), Decimal(7), None),
    ]
    assert spec.invoice_date == spec.delivery_date == date(2025, 4, 1)
    assert spec.show_net is True and spec.number is None and spec.header == "Umbau"
