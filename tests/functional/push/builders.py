"""Event data for push tests: valid defaults, override what the test is about."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sevbridge.domain.events import Appointment, Contact, Invoice, Position, Project


def person(source_id: str = "c-1", **overrides: Any) -> Contact:
    data: dict[str, Any] = {
        "source_id": source_id,
        "kind": "person",
        "first_name": "Erika",
        "last_name": "Mustermann",
        "title": "Dr.",
        "emails": ["erika@example.org"],
        "phone": "+49 30 1234567",
        "mobile": "0171 9876543",
        "billing_address": {"street": "Musterstraße 1", "zip": "12345", "city": "Musterstadt", "country": "DE"},
    }
    data.update(overrides)
    return Contact.model_validate(data)


def organisation(source_id: str = "org-1", **overrides: Any) -> Contact:
    data: dict[str, Any] = {
        "source_id": source_id,
        "company_name": "Muster GmbH",
        "customer_number": "K-10043",
        "vat_id": "DE123456789",
        "notes": "Stammkunde seit 2019",
        "emails": ["buchhaltung@muster.example"],
        "website": "https://www.muster.example/",
        "billing_address": {"street": "Hauptstr. 5", "zip": "10115", "city": "Berlin", "country": "DE"},
        "delivery_addresses": [
            {"street": "Lagerweg 2", "zip": "10117", "city": "Berlin", "country": "DE", "name": "Lager"}
        ],
    }
    data.update(overrides)
    return Contact.model_validate(data)


def position(name: str = "Beratung", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "quantity": "2", "unit": "h", "unit_price": "100.00", "tax_rate": "19"}
    data.update(overrides)
    return data


def invoice(source_id: str = "inv-1", **overrides: Any) -> Invoice:
    data: dict[str, Any] = {
        "source_id": source_id,
        "number": f"RE-{source_id}",
        "status": "sent",
        "invoice_date": date(2025, 7, 1),
        "customer": person().model_dump(),
        "positions": [position(), position("Fachbuch", quantity="1", unit="Stück", unit_price="25", tax_rate="7")],
    }
    data.update(overrides)
    if isinstance(data["customer"], Contact):
        data["customer"] = data["customer"].model_dump()
    return Invoice.model_validate(data)


def appointment(title: str, state: str = "done", hours: str = "2", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"title": title, "state": state, "hours": hours}
    data.update(overrides)
    return data


def project(source_id: str = "prj-1", **overrides: Any) -> Project:
    data: dict[str, Any] = {
        "source_id": source_id,
        "title": "Gartenpflege Frühjahr",
        "customer": organisation().model_dump(),
        "hourly_rate": "45.50",
        "hour_unit": "Std",
        "invoice_date": date(2025, 7, 10),
        "appointments": [
            appointment(
                "Rasen mähen",
                day="2025-07-02",
                hours="2.5",
                articles=[{"name": "Dünger", "quantity": "3", "unit": "kg", "unit_price": "4.20", "tax_rate": "19"}],
            ),
            appointment("Hecke schneiden", state="planned", hours="0"),
            appointment("Laub entfernen", hours="1.25"),
        ],
    }
    data.update(overrides)
    if isinstance(data["customer"], Contact):
        data["customer"] = data["customer"].model_dump()
    return Project.model_validate(data)


__all__ = [
    "Appointment",
    "Decimal",
    "Position",
    "appointment",
    "invoice",
    "organisation",
    "person",
    "position",
    "project",
]
