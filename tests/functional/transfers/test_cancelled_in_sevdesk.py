"""An invoice cancelled in sevDesk, seen through the real handlers: the platform reads it in the ledger
(issue 6 §2). Cancelled with the sandbox's cancelInvoice, as a user would in sevDesk."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
TRANSFERS = "/v1/tenants/school-42/transfers"


def test_paid_event_after_a_cancellation_in_sevdesk_ends_skipped_saying_so(
    api: HandlerApiClient, connected: Any, sandbox: Any, sandbox_state: Any, aws: Any
) -> None:
    sent = load_event("platform-invoice-upserted.json")
    api.post(EVENTS, json_body=sent)
    drain(aws)
    [first] = api.get(TRANSFERS).json["items"]
    assert first["status"] == "transferred"
    cancelled = httpx.post(
        f"{sandbox.url}/Invoice/{first['sevdesk_id']}/cancelInvoice", headers={"Authorization": connected.token}
    )
    assert cancelled.status_code == 201, cancelled.text

    paid = load_event("platform-invoice-upserted.json", id="evt-invoice-2026-020-paid")
    paid["data"].update(status="paid", paid_at="2026-11-28")
    paid["occurred_at"] = "2026-11-28T10:00:00+01:00"
    api.post(EVENTS, json_body=paid)
    drain(aws)

    latest = api.get(TRANSFERS, query={"status": "skipped"}).json["items"]
    [transfer] = latest
    assert transfer["sevdesk_id"] == first["sevdesk_id"] and transfer["sevdesk_number"] == "PL-2026-020"
    assert transfer["reason"].startswith("cancelled in sevDesk: invoice PL-2026-020")
    assert "SR-1000" in transfer["reason"]
    documents = sandbox_state.objects(connected.account_id, "Invoice")
    assert sorted(d["invoiceType"] for d in documents) == ["RE", "SR"]
    assert all(d["paidAmount"] == 0 for d in documents)
    assert not [r for r in sandbox_state.requests(connected.account_id) if r.path.endswith("/bookAmount")]
