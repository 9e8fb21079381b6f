"""Invoice drafts from finished projects (I7).

Layout: line 1 is the project title as a heading: quantity 1, unit "pauschal" (flat rate, LS), price
0. A flat-rate unit reads right for a heading that bills nothing, where "1 Std at 0,00" would suggest
an hour given away; if a tenant has no flat-rate unit the hour unit is used instead. Then, per done
appointment: "<title>" with its documented hours at the hourly rate, followed by that appointment's
articles. Prices are net (a project's hourly rate is a net rate).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.events import Project
from sevbridge.domain.push.documents import DocumentSpec, Line, fingerprint
from sevbridge.domain.push.payloads import sevdesk_date

TITLE_UNIT = "pauschal"
NO_DONE_APPOINTMENT = (
    "project '{title}' has no appointment in state done; an invoice draft needs at least one "
    "done appointment with its documented hours"
)


def check_project(project: Project) -> None:
    """Acceptance-time check (I7): raises InvalidInput when no appointment is done."""
    if not project.done_appointments:
        raise InvalidInput(
            NO_DONE_APPOINTMENT.format(title=project.title),
            details=[{"field": "appointments", "problem": "no appointment in state done"}],
        )


def project_document(project: Project, today: date) -> DocumentSpec:
    day = project.invoice_date or today
    lines = [
        Line(
            name=project.title,
            text=None,
            quantity=Decimal(1),
            unit=TITLE_UNIT,
            price=Decimal(0),
            tax_rate=project.tax_rate,
            unit_fallback=project.hour_unit,
        )
    ]
    for appointment in project.done_appointments:
        lines.append(
            Line(
                name=appointment.title,
                text=sevdesk_date(appointment.day) if appointment.day else None,
                quantity=appointment.hours,
                unit=project.hour_unit,
                price=project.hourly_rate,
                tax_rate=project.tax_rate,
            )
        )
        lines.extend(
            Line(
                name=article.name,
                text=None,
                quantity=article.quantity,
                unit=article.unit,
                price=article.unit_price,
                tax_rate=article.tax_rate,
            )
            for article in appointment.articles
        )
    return DocumentSpec(
        label=f"project draft '{project.title}'",
        number=None,
        customer=project.customer,
        invoice_date=day,
        delivery_date=day,
        currency=project.currency,
        header=project.title,
        time_to_pay_days=None,
        tax_rule=project.tax_rule,
        show_net=True,
        lines=tuple(lines),
    )


def project_content_hash(project: Project) -> str:
    """The project as sent, minus customer details; an absent invoice_date stays absent (not today)."""
    doc = project.model_dump(mode="python", exclude={"customer"})
    doc["customer_source_id"] = project.customer.source_id
    return fingerprint(doc)
