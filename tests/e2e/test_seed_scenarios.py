"""Issue 3's seed scenarios end to end: HTTP → api → DynamoDB + SQS (moto server) → transfer worker
→ sevDesk sandbox, all inside the local stack that `make run` starts. Each scenario has its own tenant
and its own sandbox account; results are read back from the ledger API and the sandbox's admin API."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
THIS_YEAR = date.today().year


def sample(name: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO / "events" / name).read_text())
    event["id"] = f"{event['id']}-{uuid.uuid4().hex[:8]}"
    event["data"].update(changes)
    return event


class Tenant:
    def __init__(self, stack: RunningStack, api: httpx.Client) -> None:
        self.api = api
        self.admin = httpx.Client(base_url=stack.sevdesk_sandbox_admin_url, timeout=30)
        account = self.admin.post("/accounts", json={"name": "Seed GmbH"}).json()
        self.account_id, self.token = account["account_id"], account["token"]
        self.id = f"seed-{uuid.uuid4().hex[:8]}"
        connected = api.put(
            f"/v1/tenants/{self.id}/connection",
            json={"sevdesk_token": self.token, "settings": {"unit_mapping": {"h": "Std"}}},
        )
        assert connected.status_code == 201, connected.text

    def send(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        body: Any = events[0] if len(events) == 1 else {"events": list(events)}
        response = self.api.post(f"/v1/tenants/{self.id}/events", json=body)
        assert response.status_code == 202, response.text
        return [t for r in response.json()["results"] for t in r["transfers"]]

    def settle(self, timeout: float = 40) -> list[dict[str, Any]]:
        """Waits until no transfer is queued or sending; returns the ledger, oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.api.get(f"/v1/tenants/{self.id}/transfers", params={"limit": 200}).json()["items"]
            if all(t["status"] not in ("queued", "sending") for t in items) or time.monotonic() > deadline:
                return sorted(items, key=lambda t: t["transfer_id"])
            time.sleep(0.3)

    def objects(self, name: str) -> list[dict[str, Any]]:
        return self.admin.get(f"/accounts/{self.account_id}/objects/{name}").json()  # type: ignore[no-any-return]


@pytest.fixture
def tenant(local_stack: RunningStack, api: httpx.Client) -> Tenant:
    return Tenant(local_stack, api)


def test_contact_with_this_years_and_last_years_invoices(tenant: Tenant) -> None:
    event = sample("platform-contact-upserted.json")
    paid, old, draft = event["data"]["invoices"]
    paid["invoice_date"], paid["paid_at"] = f"{THIS_YEAR}-03-02", f"{THIS_YEAR}-03-10"
    old["invoice_date"] = f"{THIS_YEAR - 1}-12-15"
    draft["invoice_date"] = f"{THIS_YEAR}-11-18"
    tenant.send(event)
    ledger = {t["source_id"]: t for t in tenant.settle()}

    assert ledger["cust-1001"]["status"] == "transferred"
    assert ledger["inv-2026-001"]["status"] == "transferred"
    assert ledger["inv-2025-117"]["status"] == "skipped" and str(THIS_YEAR - 1) in ledger["inv-2025-117"]["reason"]
    assert ledger["inv-2026-014"]["status"] == "skipped" and "draft" in ledger["inv-2026-014"]["reason"]
    (contact,) = tenant.objects("Contact")
    assert contact["name"] == "Hundeschule Bello GmbH"
    (invoice,) = tenant.objects("Invoice")
    assert str(invoice["status"]) == "1000"  # paid: sent, then the payment booked
    assert str(invoice["contact"]["id"]) == str(contact["id"])


def test_auto_transfer_when_an_invoice_leaves_draft(tenant: Tenant) -> None:
    tenant.send(sample("platform-invoice-upserted.json", status="draft"))
    (first,) = tenant.settle()
    assert first["status"] == "skipped" and "draft" in first["reason"]
    assert tenant.objects("Invoice") == []

    tenant.send(sample("platform-invoice-upserted.json", status="sent"))
    ledger = tenant.settle()
    assert ledger[-1]["status"] == "transferred", ledger[-1]
    (invoice,) = tenant.objects("Invoice")
    assert str(invoice["status"]) == "200"


def test_manual_transfer_of_a_draft(tenant: Tenant) -> None:
    tenant.send(sample("platform-invoice-transfer-requested.json"))
    (transfer,) = tenant.settle()
    assert transfer["status"] == "transferred", transfer
    (invoice,) = tenant.objects("Invoice")
    assert str(invoice["status"]) == "100"  # stays a draft in sevDesk


def test_missing_unit_fails_clearly_and_creates_nothing(tenant: Tenant) -> None:
    event = sample("platform-invoice-upserted.json")
    event["data"]["positions"][0]["unit"] = "Palette"
    tenant.send(event)
    (transfer,) = tenant.settle()
    assert transfer["status"] == "failed"
    assert "Palette" in transfer["reason"]
    assert tenant.objects("Invoice") == [] and tenant.objects("Contact") == []


def test_project_with_two_done_appointments_becomes_a_draft(tenant: Tenant) -> None:
    tenant.send(sample("platform-project-completed.json"))
    (transfer,) = tenant.settle()
    assert transfer["status"] == "transferred", transfer
    (invoice,) = tenant.objects("Invoice")
    assert str(invoice["status"]) == "100"
    positions = sorted(tenant.objects("InvoicePos"), key=lambda p: int(p.get("positionNumber") or 0))
    names = [p["name"] for p in positions]
    assert names[0] == "Badsanierung Familie Schmidt"
    assert names[1:] == ["Demontage und Vorbereitung", "Schuttsack", "Fliesen verlegen", "Fliesenkleber", "Wandfliesen"]
    assert "Abnahme" not in names  # planned, not done


def test_token_rotated_mid_stream_parks_and_resumes(tenant: Tenant, api: httpx.Client) -> None:
    tenant.send(sample("platform-invoice-upserted.json", source_id="inv-a", number="A-1"))
    assert tenant.settle()[-1]["status"] == "transferred"

    new_token = tenant.admin.post(f"/accounts/{tenant.account_id}/rotate-token").json()["token"]
    tenant.send(
        sample("platform-invoice-upserted.json", source_id="inv-b", number="B-1"),
        sample("platform-invoice-upserted.json", source_id="inv-c", number="C-1"),
    )
    ledger = tenant.settle()
    assert [t["status"] for t in ledger[-2:]] == ["waiting_for_credentials"] * 2
    assert api.get(f"/v1/tenants/{tenant.id}/connection").json()["status"] == "reconnect_required"

    resumed = api.put(f"/v1/tenants/{tenant.id}/connection", json={"sevdesk_token": new_token})
    # The e2e stack's schedule ticks every 2 s and also resumes a reconnected tenant's parked work, so on a
    # busy machine it can take the two before this request counts them (the exact count is pinned without a
    # tick in tests/functional/transfers/test_transfer_worker.py). Either way both are resumed, once:
    assert resumed.status_code == 200 and resumed.json()["resumed_transfers"] in (0, 1, 2)
    ledger = tenant.settle()
    assert {t["status"] for t in ledger} == {"transferred"}
    numbers = sorted(i["invoiceNumber"] for i in tenant.objects("Invoice"))
    assert numbers == ["A-1", "B-1", "C-1"]  # nothing lost, nothing doubled
