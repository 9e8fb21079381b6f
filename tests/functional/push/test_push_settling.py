"""Unknown write outcomes are settled inside the push (settling.py): the connection drops right after
sevDesk committed a write, and the same call looks the object up and adopts it (or sends it again when
it did not land), so one document completes in one attempt and nothing exists twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
from sevbridge.adapters.sevdesk.gateway import build_push_service
from sevbridge.domain.push.service import Patience
from sevbridge.domain.settings import TenantSettings
from sevbridge.domain.sevdesk_errors import SevdeskBrakeEngaged, SevdeskNetworkError
from sevdesk_sandbox import Fault
from tests.functional.push.builders import invoice, organisation, person
from tests.functional.push.conftest import CLIENT_TIMEOUT, PLATFORM, TODAY, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]


def _fault(tenant: Tenant, kind: str, method: str, path_pattern: str, **extra: Any) -> None:
    tenant.sandbox.state.add_fault(
        Fault(kind=kind, account_id=tenant.account.account_id, method=method, path_pattern=path_pattern, **extra)  # type: ignore[arg-type]
    )


def _calls(tenant: Tenant, method: str, path: str) -> int:
    return sum(
        1 for r in tenant.sandbox.state.requests(tenant.account.account_id) if (r.method, r.path) == (method, path)
    )


@pytest.mark.parametrize("kind", ["drop_after_commit", "status_after_commit"])
def test_invoice_create_that_landed_is_adopted_in_the_same_call(tenant: Tenant, version: Version, kind: str) -> None:
    _fault(tenant, kind, "POST", "^/Invoice/Factory/saveInvoice$", status=502)

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    assert (outcome.action, outcome.sevdesk_id, inv["status"]) == ("created", inv["id"], "200")
    assert _calls(tenant, "POST", "/Invoice/Factory/saveInvoice") == 1  # found, not sent again
    assert len(tenant.requests("GET", "/Invoice")) >= 1  # looked up by our marker


def test_invoice_create_that_did_not_land_is_sent_again(tenant: Tenant, version: Version) -> None:
    _fault(tenant, "drop", "POST", "^/Invoice/Factory/saveInvoice$")

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    assert (outcome.action, inv["status"]) == ("created", "200")
    assert _calls(tenant, "POST", "/Invoice/Factory/saveInvoice") == 2


def test_contact_create_and_every_child_write_dropped_once_each_exist_once(tenant: Tenant, version: Version) -> None:
    for path in ("^/Contact$", "^/ContactCustomFieldSetting$", "^/ContactCustomField$", "^/ContactAddress$"):
        _fault(tenant, "drop_after_commit", "POST", path)
    _fault(tenant, "drop_after_commit", "POST", "^/CommunicationWay$", times=2)

    outcome = tenant.service().push_contact(organisation(), version=version(), uncertain=False)

    [contact] = tenant.contacts()
    assert (outcome.action, outcome.sevdesk_id) == ("created", contact["id"])
    assert _calls(tenant, "POST", "/Contact") == 1
    assert len(tenant.objects("ContactCustomFieldSetting")) == 1
    [field] = tenant.objects("ContactCustomField")
    assert field["value"] == f"{PLATFORM}:org-1"
    assert sorted(a["street"] for a in tenant.objects("ContactAddress")) == ["Hauptstr. 5", "Lagerweg 2"]
    assert sorted(w["value"] for w in tenant.objects("CommunicationWay")) == [
        "buchhaltung@muster.example",
        "https://www.muster.example/",
    ]
    row = tenant.mappings.get(PLATFORM, tenant.tenant_id, "contact", "org-1")
    assert row is not None and row.complete and row.sevdesk_id == contact["id"]


def test_send_dropped_after_commit_is_read_back_not_resent(tenant: Tenant, version: Version) -> None:
    _fault(tenant, "drop_after_commit", "PUT", "/sendBy$")

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    assert (outcome.action, inv["status"]) == ("created", "200")
    assert len(tenant.requests("PUT", f"/Invoice/{inv['id']}/sendBy")) == 1


def test_payment_dropped_after_commit_is_booked_once(tenant: Tenant, version: Version) -> None:
    _fault(tenant, "drop_after_commit", "PUT", "/bookAmount$")

    outcome = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    assert (outcome.action, inv["status"]) == ("created", "1000")
    assert float(inv["paidAmount"]) == float(inv["sumGross"])
    assert len(tenant.requests("PUT", f"/Invoice/{inv['id']}/bookAmount")) == 1
    assert len(tenant.objects("CheckAccountTransaction")) == 1


def test_payment_refused_before_commit_is_booked_again(tenant: Tenant, version: Version) -> None:
    _fault(tenant, "status", "PUT", "/bookAmount$", status=503)

    tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    assert inv["status"] == "1000"
    assert len(tenant.requests("PUT", f"/Invoice/{inv['id']}/bookAmount")) == 2
    assert len(tenant.objects("CheckAccountTransaction")) == 1


def test_reset_to_draft_dropped_after_commit_is_not_sent_twice(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    _fault(tenant, "drop_after_commit", "PUT", "/resetToDraft$")

    outcome = tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    assert inv["status"] == "100"
    assert outcome.action == "updated" and "reset to draft" in outcome.message
    [reset] = tenant.requests("PUT", f"/Invoice/{inv['id']}/resetToDraft")
    assert reset.status == 200  # never a second call answered "only open invoices can be reset"


def test_draft_rewrite_dropped_after_commit_keeps_one_set_of_positions(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=True)
    [inv] = tenant.invoices()
    _fault(tenant, "drop_after_commit", "POST", "^/Invoice/Factory/saveInvoice$")

    changed = invoice(
        status="draft", positions=[{"name": "Neu", "quantity": "1", "unit": "h", "unit_price": "80", "tax_rate": "19"}]
    )
    outcome = tenant.service().push_invoice(changed, version=version(), uncertain=False, manual=True)

    assert outcome.action == "updated"
    positions = [p for p in tenant.objects("InvoicePos") if p["invoice"]["id"] == inv["id"]]
    assert [p["name"] for p in positions] == ["Neu"]
    assert _calls(tenant, "POST", "/Invoice/Factory/saveInvoice") == 2  # the create and one rewrite


def test_a_document_completes_in_one_call_under_heavy_random_faults(tenant: Tenant, version: Version) -> None:
    """30 % of all requests fail (5xx, 429, dropped after commit): every document still completes in
    one call, and nothing exists twice."""
    account = tenant.account.account_id
    state = tenant.sandbox.state
    state.add_fault(Fault(kind="status", status=503, probability=0.1, seed=1, times=None, account_id=account))
    state.add_fault(Fault(kind="rate_limit", retry_after=0, probability=0.05, seed=2, times=None, account_id=account))
    state.add_fault(
        Fault(kind="drop_after_commit", method="POST", probability=0.15, seed=3, times=None, account_id=account)
    )
    state.add_fault(
        Fault(kind="drop_after_commit", method="PUT", probability=0.15, seed=4, times=None, account_id=account)
    )
    service = tenant.service()
    for i in range(12):
        customer = person(f"c-{i % 4}", emails=[f"kunde{i % 4}@example.org"], customer_number=None)
        status = ("sent", "paid", "draft")[i % 3]
        service.push_invoice(
            invoice(f"inv-{i}", customer=customer, status=status), version=version(), uncertain=False, manual=True
        )

    assert sum(f.hits for f in state.faults(account)) >= 10  # the faults did strike
    invoices = tenant.invoices()
    assert sorted(i["invoiceNumber"] for i in invoices) == sorted(f"RE-inv-{i}" for i in range(12))
    assert [i["status"] for i in sorted(invoices, key=lambda i: int(i["invoiceNumber"].split("-")[-1]))] == [
        ("200", "1000", "100")[i % 3] for i in range(12)
    ]
    assert len(tenant.contacts()) == 4
    assert len(tenant.objects("ContactAddress")) == 4
    assert len(tenant.objects("CommunicationWay")) == 12  # e-mail, phone, mobile per contact
    assert len(tenant.objects("CheckAccountTransaction")) == 4
    assert len(tenant.objects("ContactCustomField")) == 4


def test_a_pause_while_settling_stops_at_once_and_says_the_outcome_is_unknown(tenant: Tenant, version: Version) -> None:
    _fault(tenant, "drop_after_commit", "POST", "^/Invoice/Factory/saveInvoice$")
    brake = ErrorBrake(max_errors=1000)
    client = SevdeskClient(
        tenant.account.token,
        base_url=tenant.sandbox.url,
        tenant_key="paused-tenant",
        http=tenant.http,
        timeout=CLIENT_TIMEOUT,
        max_attempts=2,
        max_backoff=0.01,
        brake=brake,
        sleep=lambda _: None,
    )

    def pause_before_looking(_: float) -> None:
        for _ in range(1000):
            brake.record_error("paused-tenant")

    service = build_push_service(
        client,
        PLATFORM,
        tenant.tenant_id,
        TenantSettings(),
        TODAY,
        mappings=tenant.mappings,
        patience=Patience(sleep=pause_before_looking),
    )
    with pytest.raises(SevdeskBrakeEngaged) as caught:
        service.push_invoice(invoice(), version=version(), uncertain=False, manual=False)

    assert caught.value.outcome_unknown and caught.value.pause_seconds
    assert len(tenant.invoices()) == 1
    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)
    assert outcome.action == "adopted" and len(tenant.invoices()) == 1


@pytest.mark.parametrize(
    ("first", "then", "path"),
    [("sent", "draft", "/resetToDraft$"), ("draft", "sent", "/sendBy$")],
)
def test_the_next_attempt_after_an_interrupted_status_change_continues_from_sevdesks_state(
    tenant: Tenant, version: Version, first: str, then: str, path: str
) -> None:
    """The attempt ended right after the status change was sent (the worker died, or ran out of time
    before it could look): the next one reads the status and does not send it a second time."""
    tenant.service().push_invoice(invoice(status=first), version=version(), uncertain=False, manual=True)
    _fault(tenant, "drop_after_commit", "PUT", path)
    with pytest.raises(SevdeskNetworkError) as interrupted:
        tenant.service(settle=False).push_invoice(invoice(status=then), version=version(), uncertain=False, manual=True)
    assert interrupted.value.outcome_unknown

    outcome = tenant.service().push_invoice(invoice(status=then), version=version(), uncertain=True, manual=True)

    [inv] = tenant.invoices()
    assert inv["status"] == ("100" if then == "draft" else "200")
    assert outcome.action == "unchanged", outcome.message
    assert len([r for r in tenant.requests("PUT", f"/Invoice/{inv['id']}") if re.search(path, r.path)]) == 1
