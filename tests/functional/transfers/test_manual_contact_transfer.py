"""`contact.transfer_requested` (issue 6 §3, P3): the platform user's explicit contact transfer takes the
contact's current-year sent/paid invoices along whether or not automatic transfer is on."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
TRANSFERS = "/v1/tenants/school-42/transfers"


def this_year(event: dict[str, Any]) -> dict[str, Any]:
    paid, old, draft = event["data"]["invoices"]
    year = date.today().year
    paid["invoice_date"], paid["paid_at"] = f"{year}-03-02", f"{year}-03-10"
    old["invoice_date"], draft["invoice_date"] = f"{year - 1}-12-15", f"{year}-11-18"
    return event


@pytest.mark.parametrize("auto_transfer", [False, True])
def test_manual_contact_transfer_takes_its_invoices_along_whatever_auto_transfer_says(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, auto_transfer: bool
) -> None:
    api.put("/v1/tenants/school-42/connection", json_body={"settings": {"auto_transfer": auto_transfer}})
    accepted = api.post(EVENTS, json_body=this_year(load_event("platform-contact-transfer-requested.json")))
    assert accepted.status == 202, accepted.body
    drain(aws)

    by_source = {t["source_id"]: t for t in api.get(TRANSFERS).json["items"]}
    assert by_source["cust-1001"]["status"] == "transferred" and by_source["cust-1001"]["manual"] is True
    paid = by_source["inv-2026-001"]
    assert (paid["status"], paid["manual"]) == ("transferred", True), paid
    assert "payment booked" in paid["reason"]
    # P3 still chooses which invoices travel: last year's and drafts are left for a manual transfer.
    assert (
        by_source["inv-2025-117"]["status"] == "skipped"
        and "transfer it manually" in by_source["inv-2025-117"]["reason"]
    )
    assert by_source["inv-2026-014"]["status"] == "skipped"
    [invoice] = sandbox_state.objects(connected.account_id, "Invoice")
    assert invoice["status"] == "1000" and invoice["invoiceNumber"] == "PL-2026-001"


def test_contact_upserted_stays_automatic(api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any) -> None:
    """The same contact as a plain update with automatic transfer off: its invoices wait."""
    api.put("/v1/tenants/school-42/connection", json_body={"settings": {"auto_transfer": False}})
    api.post(EVENTS, json_body=this_year(load_event("platform-contact-upserted.json")))
    drain(aws)
    by_source = {t["source_id"]: t for t in api.get(TRANSFERS).json["items"]}
    assert by_source["cust-1001"]["manual"] is False
    assert by_source["inv-2026-001"]["status"] == "skipped" and by_source["inv-2026-001"]["manual"] is False
    assert sandbox_state.objects(connected.account_id, "Invoice") == []

    # The user then transfers the contact by hand: now the invoice goes (newer event, manual).
    manual = this_year(load_event("platform-contact-transfer-requested.json"))
    manual["occurred_at"] = "2026-11-21T09:00:00+01:00"
    api.post(EVENTS, json_body=manual)
    drain(aws)
    assert [i["invoiceNumber"] for i in sandbox_state.objects(connected.account_id, "Invoice")] == ["PL-2026-001"]
