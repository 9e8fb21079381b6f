"""I7 against the sevDesk sandbox: invoice drafts from finished projects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from sevbridge.domain.push.service import PushRefused
from sevbridge.domain.sevdesk_errors import SevdeskNetworkError
from sevdesk_sandbox import Fault
from tests.functional.push.builders import appointment, project
from tests.functional.push.conftest import Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]


def _lines(tenant: Tenant, invoice_id: str) -> list[tuple[str, str | None, str, str, str, str]]:
    rows = [p for p in tenant.objects("InvoicePos") if p["invoice"]["id"] == invoice_id]
    rows.sort(key=lambda p: int(p["positionNumber"]))
    return [(p["name"], p["text"], p["quantity"], p["unity"]["id"], p["price"], p["taxRate"]) for p in rows]


def test_project_draft_layout(tenant: Tenant, version: Version) -> None:
    outcome = tenant.service().push_project_draft(project(), version=version(), uncertain=False)

    [inv] = tenant.invoices()
    assert outcome.action == "created"
    assert outcome.message == "invoice draft for project 'Gartenpflege Frühjahr' created in sevDesk as draft"
    assert (inv["status"], inv["invoiceNumber"], inv["showNet"]) == ("100", None, "1")
    assert inv["header"] == "Gartenpflege Frühjahr"
    assert inv["invoiceDate"].startswith("2025-07-10")
    assert ":project:prj-1" in inv["customerInternalNote"]
    # Title (flat rate 7, price 0), then per done appointment its hours (Std 9) and its articles (kg 4);
    # the planned appointment is left out.
    assert _lines(tenant, inv["id"]) == [
        ("Gartenpflege Frühjahr", None, "1", "7", "0", "19.00"),
        ("Rasen mähen", "02.07.2025", "2.5", "9", "45.5", "19.00"),
        ("Dünger", None, "3", "4", "4.2", "19.00"),
        ("Laub entfernen", None, "1.25", "9", "45.5", "19.00"),
    ]
    [contact] = tenant.contacts()
    assert inv["contact"]["id"] == contact["id"] == outcome.contact_sevdesk_id
    assert contact["name"] == "Muster GmbH"


def test_project_without_done_appointment_is_refused(tenant: Tenant, version: Version) -> None:
    nothing_done = project(
        appointments=[appointment("Termin", state="planned"), appointment("Absage", state="cancelled")]
    )
    with pytest.raises(PushRefused, match="has no appointment in state done"):
        tenant.service().push_project_draft(nothing_done, version=version(), uncertain=False)
    assert tenant.invoices() == [] and tenant.contacts() == []


def test_project_with_unknown_article_unit_creates_nothing(tenant: Tenant, version: Version) -> None:
    odd = project(
        appointments=[
            appointment("Einsatz", articles=[{"name": "Mulch", "quantity": "2", "unit": "Sack", "unit_price": "5"}])
        ]
    )
    with pytest.raises(PushRefused, match="unit 'Sack' not found in sevDesk"):
        tenant.service().push_project_draft(odd, version=version(), uncertain=False)
    assert tenant.invoices() == [] and tenant.contacts() == []


def test_second_completion_updates_the_draft(tenant: Tenant, version: Version) -> None:
    first = tenant.service().push_project_draft(project(), version=version(), uncertain=False)
    more = project(appointments=[appointment("Rasen mähen", hours="3"), appointment("Nacharbeit", hours="0.5")])

    outcome = tenant.service().push_project_draft(more, version=version(), uncertain=False)

    assert (outcome.action, outcome.sevdesk_id) == ("updated", first.sevdesk_id)
    [inv] = tenant.invoices()
    assert [line[0] for line in _lines(tenant, inv["id"])] == ["Gartenpflege Frühjahr", "Rasen mähen", "Nacharbeit"]
    assert len(tenant.objects("InvoicePos")) == 3


def test_redelivered_completion_changes_nothing(tenant: Tenant, version: Version) -> None:
    tenant.service().push_project_draft(project(), version=version(), uncertain=False)
    outcome = tenant.service().push_project_draft(project(), version=version(), uncertain=False)
    assert outcome.action == "unchanged"
    assert len(tenant.requests("POST", "/Invoice/Factory/saveInvoice")) == 1


def test_changed_project_after_the_draft_was_finalised_is_refused(tenant: Tenant, version: Version) -> None:
    first = tenant.service().push_project_draft(project(), version=version(), uncertain=False)
    tenant.client().put(f"/Invoice/{first.sevdesk_id}/sendBy", json={"sendType": "VPDF", "sendDraft": False})
    more = project(appointments=[appointment("Rasen mähen", hours="3")])

    with pytest.raises(PushRefused, match=r"is already open in sevDesk; the changed project can't be applied"):
        tenant.service().push_project_draft(more, version=version(), uncertain=False)
    assert tenant.invoices()[0]["status"] == "200"


def test_project_draft_timeout_after_commit_is_adopted(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(
            kind="timeout_after_commit",
            account_id=tenant.account.account_id,
            method="POST",
            path_pattern="^/Invoice/Factory/saveInvoice$",
            delay_seconds=1.5,
        )
    )
    with pytest.raises(SevdeskNetworkError):
        tenant.service(settle=False).push_project_draft(project(), version=version(), uncertain=False)

    outcome = tenant.service().push_project_draft(project(), version=version(), uncertain=True)

    assert outcome.action == "adopted"
    assert len(tenant.invoices()) == 1


def test_hour_unit_stands_in_when_the_tenant_has_no_flat_rate_unit(tenant: Tenant, version: Version) -> None:
    state = tenant.sandbox.state
    state.delete(state.account(tenant.account.account_id), "Unity", "7")  # this tenant removed "pauschal"

    tenant.service().push_project_draft(project(), version=version(), uncertain=False)

    [inv] = tenant.invoices()
    assert _lines(tenant, inv["id"])[0][:4] == ("Gartenpflege Frühjahr", None, "1", "9")
