"""Cancelled invoices (issue 6 §2) against the sandbox's cancelInvoice, which leaves what live sevDesk
leaves (api-facts §10): the original and its cancellation document (SR, `origin` → original) both with
status 1000, paidAmount 0 and our marker. A cancelled document is neither re-created nor booked, an SR
is never taken for ours, and status 1000 with nothing paid is not called paid."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import pytest

from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.adapters.dynamo_mappings import mapping_sk
from sevbridge.domain.push.invoice_state import CANCELLED_PREFIX
from sevbridge.domain.push.markers import document_marker
from sevbridge.domain.push.service import PushRefused
from tests.functional.push.builders import invoice, project
from tests.functional.push.conftest import PLATFORM, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]
SAVE = "/Invoice/Factory/saveInvoice"


def cancel_in_sevdesk(tenant: Tenant, invoice_id: str) -> dict[str, Any]:
    """What a user does in sevDesk ("Stornieren"), through the sandbox's cancelInvoice."""
    response = tenant.http.post(
        f"{tenant.sandbox.url}/Invoice/{invoice_id}/cancelInvoice", headers={"Authorization": tenant.account.token}
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"])


def forget_mapping(tenant: Tenant, kind: str, source_id: str) -> None:
    boto3.client("dynamodb").delete_item(
        TableName=tenant.mappings._table,
        Key={"pk": {"S": tenant_pk(PLATFORM, tenant.tenant_id)}, "sk": {"S": mapping_sk(kind, source_id)}},  # type: ignore[arg-type]
    )


def by_type(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in tenant.invoices():
        out.setdefault(row["invoiceType"], []).append(row)
    return out


def marker(tenant: Tenant, source_id: str = "inv-1") -> str:
    return document_marker(PLATFORM, tenant.tenant_id, "invoice", source_id)


@pytest.fixture
def cancelled(tenant: Tenant, version: Version) -> tuple[str, dict[str, Any]]:
    """inv-1 transferred as sent (open in sevDesk), then cancelled there: (original id, SR)."""
    first = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert first.action == "created" and first.sevdesk_id
    return first.sevdesk_id, cancel_in_sevdesk(tenant, first.sevdesk_id)


def test_paid_event_for_a_cancelled_invoice_is_neither_booked_nor_recreated(
    tenant: Tenant, version: Version, cancelled: tuple[str, dict[str, Any]]
) -> None:
    original_id, sr = cancelled
    start = tenant.request_count()

    outcome = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)

    assert (outcome.action, outcome.sevdesk_id, outcome.sevdesk_number) == ("skipped", original_id, "RE-inv-1")
    assert outcome.message.startswith(f"{CANCELLED_PREFIX}: invoice RE-inv-1 (sevDesk id {original_id})")
    assert f"cancellation invoice {sr['invoiceNumber']}" in outcome.message
    calls = tenant.calls_since(start)
    assert not [c for c in calls if c.startswith(("PUT", "POST"))], calls  # nothing written, nothing booked
    documents = by_type(tenant)
    assert [i["id"] for i in documents["RE"]] == [original_id] and len(documents["SR"]) == 1
    assert all(i["paidAmount"] == 0 for i in tenant.invoices())


@pytest.mark.parametrize("status", ["sent", "draft"])
def test_later_events_for_a_cancelled_invoice_change_nothing(
    tenant: Tenant, version: Version, cancelled: tuple[str, dict[str, Any]], status: str
) -> None:
    """A platform that turns it back into a draft, or re-sends it, gets the same answer (no resetToDraft,
    no refusal claiming it is paid)."""
    before = tenant.invoices()
    outcome = tenant.service().push_invoice(invoice(status=status), version=version(), uncertain=False, manual=False)
    assert outcome.action == "skipped" and outcome.message.startswith(CANCELLED_PREFIX)
    assert "paid" not in outcome.message.split(";")[0]
    assert tenant.invoices() == before


def test_a_manual_transfer_of_a_cancelled_invoice_is_refused_the_same_way(
    tenant: Tenant, version: Version, cancelled: tuple[str, dict[str, Any]]
) -> None:
    changed = invoice(title="Korrigiert")  # even new content does not bring a cancelled invoice back
    outcome = tenant.service().push_invoice(changed, version=version(), uncertain=False, manual=True)
    assert outcome.action == "skipped" and outcome.message.startswith(CANCELLED_PREFIX)
    assert len(tenant.requests("POST", SAVE)) == 1


def test_without_our_mapping_the_marker_finds_the_original_not_its_cancellation(
    tenant: Tenant, version: Version, cancelled: tuple[str, dict[str, Any]]
) -> None:
    """Both carry our marker; after a lost mapping row (and an uncertain retry) the original is found
    and recognised as cancelled: no second invoice, no booking, the SR not adopted."""
    original_id, _ = cancelled
    forget_mapping(tenant, "invoice", "inv-1")

    outcome = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=True, manual=False)

    assert (outcome.action, outcome.sevdesk_id) == ("skipped", original_id)
    assert outcome.message.startswith(CANCELLED_PREFIX)
    assert len(tenant.requests("POST", SAVE)) == 1 and tenant.requests("PUT", "/Invoice/") == [
        r for r in tenant.requests("PUT", "/Invoice/") if r.path.endswith("/sendBy")
    ]


def test_a_cancellation_document_is_never_ours_even_when_it_is_the_oldest(tenant: Tenant, version: Version) -> None:
    """An SR with our marker that cancels some other document (lower id than ours) is skipped: ours is
    followed and booked as usual."""
    first = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert first.sevdesk_id
    stranger = tenant.sandbox.state.seed(
        tenant.account.account_id,
        "Invoice",
        {"id": "4990001", "invoiceNumber": "RE-900", "invoiceType": "RE", "status": "200", "sumGross": "10"},
    )
    tenant.sandbox.state.seed(
        tenant.account.account_id,
        "Invoice",
        {
            "id": "4990002",
            "invoiceNumber": "SR-900",
            "invoiceType": "SR",
            "status": "1000",
            "paidAmount": 0,
            "sumGross": "-10",
            "customerInternalNote": marker(tenant),
            "origin": {"id": stranger["id"], "objectName": "Invoice"},
            "enshrined": "2025-07-02T10:00:00+02:00",
        },
    )
    forget_mapping(tenant, "invoice", "inv-1")

    outcome = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=True, manual=False)

    assert (outcome.action, outcome.sevdesk_id) == ("adopted", first.sevdesk_id)
    assert "payment booked" in outcome.message
    [booking] = tenant.requests("PUT", "/Invoice/")[-1:]
    assert booking.path == f"/Invoice/{first.sevdesk_id}/bookAmount"


def test_an_sr_alone_with_our_marker_means_ours_was_cancelled(tenant: Tenant, version: Version) -> None:
    """No readable original, only its cancellation with our marker: nothing is created. (The marker
    search runs when an earlier attempt's outcome is unknown, as here.)"""
    tenant.sandbox.state.seed(
        tenant.account.account_id,
        "Invoice",
        {
            "invoiceNumber": "SR-1000",
            "invoiceType": "SR",
            "status": "1000",
            "paidAmount": 0,
            "customerInternalNote": marker(tenant),
            "origin": {"id": "5999999", "objectName": "Invoice"},
        },
    )
    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)
    assert outcome.action == "skipped" and outcome.message.startswith(f"{CANCELLED_PREFIX}: invoice RE-inv-1 was")
    assert tenant.requests("POST", SAVE) == []


def test_status_1000_with_nothing_paid_is_not_called_paid(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.seed(
        tenant.account.account_id,
        "Invoice",
        {
            "invoiceNumber": "RE-inv-1",
            "invoiceType": "RE",
            "status": "1000",
            "paidAmount": 0,
            "sumGross": "264.75",
            "customerInternalNote": marker(tenant),
        },
    )
    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)
    assert outcome.action == "adopted"
    assert "already closed without a payment (status 1000, nothing paid)" in outcome.message
    assert "already paid" not in outcome.message
    with pytest.raises(PushRefused) as refused:  # back to draft: impossible, and said so truthfully
        tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=False)
    assert "is already closed without a payment" in refused.value.message


def test_a_cancelled_project_draft_is_left_alone(tenant: Tenant, version: Version) -> None:
    """A project draft someone finalised and then cancelled in sevDesk is not made again."""
    first = tenant.service().push_project_draft(project(), version=version(), uncertain=False)
    assert first.sevdesk_id
    sent = tenant.http.put(
        f"{tenant.sandbox.url}/Invoice/{first.sevdesk_id}/sendBy",
        headers={"Authorization": tenant.account.token},
        json={"sendType": "VPDF", "sendDraft": False},
    )
    assert sent.status_code == 200
    cancel_in_sevdesk(tenant, first.sevdesk_id)

    again = tenant.service().push_project_draft(project(title="Gartenpflege (neu)"), version=version(), uncertain=False)

    assert again.action == "skipped" and again.message.startswith(CANCELLED_PREFIX)
    assert len(tenant.requests("POST", SAVE)) == 1
