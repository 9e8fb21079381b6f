"""I8 against the sevDesk sandbox: an invoice or contact is never created twice, whatever happened to
the previous attempt (timeout or 5xx after sevDesk committed, 5xx before, a lost mapping row)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import pytest

from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.adapters.dynamo_mappings import mapping_sk
from sevbridge.adapters.sevdesk.gateway import SevdeskGateway
from sevbridge.domain.push.service import PushRefused
from sevbridge.domain.sevdesk_errors import SevdeskNetworkError, SevdeskServerError
from sevdesk_sandbox import Fault
from tests.functional.push.builders import invoice, person
from tests.functional.push.conftest import PLATFORM, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]
SAVE = "^/Invoice/Factory/saveInvoice$"
CONTACT_CREATE = "^/Contact$"


def _lose_the_answer(tenant: Tenant, path_pattern: str, **fault: Any) -> None:
    """sevDesk commits the POST, the answer never arrives (the client times out first)."""
    tenant.sandbox.state.add_fault(
        Fault(
            kind=fault.pop("kind", "timeout_after_commit"),
            account_id=tenant.account.account_id,
            method="POST",
            path_pattern=path_pattern,
            delay_seconds=1.5,
            **fault,
        )
    )


def _contact_creates(tenant: Tenant) -> list[Any]:
    return [r for r in tenant.requests("POST", "/Contact") if r.path == "/Contact"]


def test_timeout_after_commit_then_uncertain_retry_adopts(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(
            kind="timeout_after_commit",
            account_id=tenant.account.account_id,
            method="POST",
            path_pattern=SAVE,
            delay_seconds=1.5,
        )
    )
    with pytest.raises(SevdeskNetworkError) as failure:
        tenant.service(settle=False).push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert failure.value.outcome_unknown
    [committed] = tenant.invoices()
    assert committed["status"] == "100"  # created, never sent

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)

    [inv] = tenant.invoices()
    assert (outcome.action, outcome.sevdesk_id) == ("adopted", inv["id"])
    # No mapping row recorded what the lost attempt wrote (the row is written once, after the fact), so
    # the adopted draft is written once more with this transfer's content before it is sent.
    assert outcome.message == (
        f"invoice RE-inv-1 found in sevDesk ({inv['id']}) after an interrupted attempt and adopted; "
        "then content updated and sent"
    )
    assert inv["status"] == "200"
    assert len(tenant.requests("POST", "/Invoice/Factory/saveInvoice")) == 2  # the lost one + the rewrite
    assert len(tenant.contacts()) == 1
    assert len(tenant.invoices()) == 1


def test_5xx_after_commit_then_uncertain_retry_adopts(tenant: Tenant, version: Version) -> None:
    """A proxy in front of sevDesk dies after forwarding the write: sevDesk committed, we see a 502."""
    _lose_the_answer(tenant, SAVE, kind="status_after_commit", status=502, body="html")
    with pytest.raises(SevdeskServerError) as failure:
        tenant.service(settle=False).push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert failure.value.outcome_unknown and failure.value.status == 502
    assert len(tenant.invoices()) == 1
    assert len(tenant.requests("POST", "/Invoice/Factory/saveInvoice")) == 1  # the client did not resend it

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)

    [inv] = tenant.invoices()
    assert (outcome.action, outcome.sevdesk_id, inv["status"]) == ("adopted", inv["id"], "200")
    # The lost save and the rewrite of the adopted draft (what the lost attempt wrote was not recorded).
    assert len(tenant.requests("POST", "/Invoice/Factory/saveInvoice")) == 2


def test_5xx_before_commit_then_uncertain_retry_creates_once(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(kind="status", status=503, account_id=tenant.account.account_id, method="POST", path_pattern=SAVE)
    )
    with pytest.raises(SevdeskServerError) as failure:
        tenant.service(settle=False).push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert failure.value.outcome_unknown
    assert tenant.invoices() == []

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)

    assert outcome.action == "created"
    assert len(tenant.invoices()) == 1


def test_lost_mapping_row_finds_invoice_by_marker(tenant: Tenant, version: Version) -> None:
    first = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    boto3.client("dynamodb").delete_item(
        TableName=tenant.mappings._table,
        Key={"pk": {"S": tenant_pk(PLATFORM, tenant.tenant_id)}, "sk": {"S": mapping_sk("invoice", "inv-1")}},
    )

    outcome = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)

    assert (outcome.action, outcome.sevdesk_id) == ("adopted", first.sevdesk_id)
    assert "payment booked" in outcome.message
    assert len(tenant.invoices()) == 1 and tenant.invoices()[0]["status"] == "1000"


def test_marker_lookup_compares_exactly(tenant: Tenant, version: Version) -> None:
    """sevDesk's customerInternalNote filter is a LIKE match: inv-1 must not adopt inv-10."""
    ten = tenant.service().push_invoice(invoice("inv-10"), version=version(), uncertain=False, manual=False)
    one = tenant.service().push_invoice(invoice("inv-1"), version=version(), uncertain=True, manual=False)
    assert one.action == "created" and one.sevdesk_id != ten.sevdesk_id
    assert len(tenant.invoices()) == 2


def test_uncertain_retry_after_the_send_step_failed(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(kind="status", status=422, account_id=tenant.account.account_id, method="PUT", path_pattern="/sendBy$")
    )
    with pytest.raises(Exception, match="Unprocessable"):
        tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    row = tenant.mappings.get(PLATFORM, tenant.tenant_id, "invoice", "inv-1")
    assert row is not None and row.status == 100 and row.sevdesk_id == tenant.invoices()[0]["id"]

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)

    assert (outcome.action, outcome.message) == ("updated", "invoice RE-inv-1 updated in sevDesk: sent")
    assert len(tenant.invoices()) == 1


def test_uncertain_contact_create_inside_an_invoice_push(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(
            kind="timeout_after_commit",
            account_id=tenant.account.account_id,
            method="POST",
            path_pattern="^/Contact$",
            delay_seconds=1.5,
        )
    )
    customer = invoice().customer.model_copy(update={"customer_number": "K-55"})
    with pytest.raises(SevdeskNetworkError):
        tenant.service(settle=False).push_invoice(
            invoice(customer=customer), version=version(), uncertain=False, manual=False
        )
    assert tenant.invoices() == [] and len(tenant.contacts()) == 1

    outcome = tenant.service().push_invoice(invoice(customer=customer), version=version(), uncertain=True, manual=False)

    assert outcome.action == "created"
    [contact] = tenant.contacts()
    assert outcome.contact_sevdesk_id == contact["id"]


# --- contacts: a create whose answer was lost ----------------------------------------------------


@pytest.mark.parametrize("kind", ["timeout_after_commit", "status_after_commit"])
def test_lost_create_of_a_contact_without_customer_number_is_adopted(
    tenant: Tenant, version: Version, kind: str
) -> None:
    """The platform sent no customer number: we obtain one before the create, keep it in the mapping
    row and find the contact by it, although its custom field (set after the create) is missing."""
    _lose_the_answer(tenant, CONTACT_CREATE, kind=kind, status=502)
    customer = person(customer_number=None)
    with pytest.raises((SevdeskNetworkError, SevdeskServerError)) as failure:
        tenant.service(settle=False).push_contact(customer, version=version(), uncertain=False)
    assert failure.value.outcome_unknown
    [committed] = tenant.contacts()
    assert tenant.objects("ContactCustomField") == []  # the create's follow-up steps never ran
    pending = tenant.mappings.get(PLATFORM, tenant.tenant_id, "contact", "c-1")
    assert pending is not None and pending.sevdesk_id is None and not pending.complete
    [create] = _contact_creates(tenant)
    assert create.json["customerNumber"] == pending.number == committed["customerNumber"]

    outcome = tenant.service().push_contact(customer, version=version(), uncertain=True)

    [contact] = tenant.contacts()
    assert (outcome.action, outcome.sevdesk_id, outcome.sevdesk_number) == (
        "adopted",
        contact["id"],
        committed["customerNumber"],
    )
    assert len(_contact_creates(tenant)) == 1
    [field] = tenant.objects("ContactCustomField")  # the marker is set on adoption
    assert (field["contact"]["id"], field["value"]) == (contact["id"], f"{PLATFORM}:c-1")
    assert len(tenant.objects("ContactAddress")) == 1 and len(tenant.objects("CommunicationWay")) == 3
    [lookup] = [r for r in tenant.requests("GET", "/Contact") if r.path == "/Contact"]
    assert lookup.query["customerNumber"] == committed["customerNumber"] and lookup.query["depth"] == "1"
    row = tenant.mappings.get(PLATFORM, tenant.tenant_id, "contact", "c-1")
    assert row is not None and (row.sevdesk_id, row.number, row.complete) == (contact["id"], pending.number, True)

    again = tenant.service().push_contact(customer, version=version(), uncertain=False)
    assert (again.action, again.sevdesk_id) == ("unchanged", contact["id"])
    assert len(tenant.contacts()) == 1


def test_lost_contact_create_is_adopted_even_when_the_retry_is_not_flagged_uncertain(
    tenant: Tenant, version: Version
) -> None:
    """The mapping row left "create in flight" is reason enough to look before creating."""
    _lose_the_answer(tenant, CONTACT_CREATE)
    with pytest.raises(SevdeskNetworkError):
        tenant.service(settle=False).push_contact(person(), version=version(), uncertain=False)

    outcome = tenant.service().push_contact(person(), version=version(), uncertain=False)

    [contact] = tenant.contacts()
    assert (outcome.action, outcome.sevdesk_id) == ("adopted", contact["id"])
    assert len(tenant.objects("ContactCustomField")) == 1


def test_lost_contact_create_inside_an_invoice_push_without_customer_number(tenant: Tenant, version: Version) -> None:
    _lose_the_answer(tenant, CONTACT_CREATE)
    sent = invoice(customer=person(customer_number=None))
    with pytest.raises(SevdeskNetworkError) as failure:
        tenant.service(settle=False).push_invoice(sent, version=version(), uncertain=False, manual=False)
    assert failure.value.outcome_unknown
    assert tenant.invoices() == [] and len(tenant.contacts()) == 1

    outcome = tenant.service().push_invoice(sent, version=version(), uncertain=True, manual=False)

    assert outcome.action == "created"
    [contact] = tenant.contacts()
    [inv] = tenant.invoices()
    assert outcome.contact_sevdesk_id == contact["id"] == inv["contact"]["id"]
    assert inv["status"] == "200"
    assert len(_contact_creates(tenant)) == 1
    [field] = tenant.objects("ContactCustomField")
    assert (field["contact"]["id"], field["value"]) == (contact["id"], f"{PLATFORM}:c-1")


def test_a_create_that_never_arrived_reuses_its_customer_number(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(kind="status", status=503, account_id=tenant.account.account_id, method="POST", path_pattern="^/Contact$")
    )
    with pytest.raises(SevdeskServerError):
        tenant.service(settle=False).push_contact(person(), version=version(), uncertain=False)
    assert tenant.contacts() == []
    pending = tenant.mappings.get(PLATFORM, tenant.tenant_id, "contact", "c-1")
    assert pending is not None and pending.number

    outcome = tenant.service().push_contact(person(), version=version(), uncertain=True)

    [contact] = tenant.contacts()
    assert outcome.action == "created" and contact["customerNumber"] == pending.number
    assert len(tenant.requests("GET", "/Contact/Factory/getNextCustomerNumber")) == 1


def test_next_customer_number_taken_moves_on_to_a_free_one(
    tenant: Tenant, version: Version, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant.sandbox.state.seed(tenant.account.account_id, "Contact", {"name": "Alt GmbH", "customerNumber": "K-0099"})
    monkeypatch.setattr(SevdeskGateway, "next_customer_number", lambda self, fresh=False: "K-0099")

    outcome = tenant.service().push_contact(person(), version=version(), uncertain=False)

    assert (outcome.action, outcome.sevdesk_number) == ("created", "K-0100")
    assert {c["customerNumber"] for c in tenant.contacts()} == {"K-0099", "K-0100"}


def test_no_free_customer_number_is_refused_before_creating(
    tenant: Tenant, version: Version, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant.sandbox.state.seed(tenant.account.account_id, "Contact", {"name": "Alt GmbH", "customerNumber": "KUNDE"})
    monkeypatch.setattr(SevdeskGateway, "next_customer_number", lambda self, fresh=False: "KUNDE")

    with pytest.raises(PushRefused, match="could not obtain a free customer number"):
        tenant.service().push_contact(person(), version=version(), uncertain=False)
    assert len(tenant.contacts()) == 1
