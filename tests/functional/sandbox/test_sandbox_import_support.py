"""What imports need from the sandbox: bulk data in the live shape, changing and deleting any object
(admin API and sevDesk's own DELETEs), `updateAfter` on Contact/Invoice/Order (not Part), order
positions with `embed`, and cancelled invoices as sevDesk shows them."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sandbox_helpers import create_contact

from sevdesk_sandbox import Account, SandboxState
from sevdesk_sandbox.clock import iso
from sevdesk_sandbox.deletion import DEPENDENTS
from sevdesk_sandbox.generate import generate
from sevdesk_sandbox.resources import contacts

pytestmark = pytest.mark.functional


def test_generate_fills_an_account_in_the_live_shape(state: SandboxState, account: Account) -> None:
    made = generate(
        state, account.account_id, contacts=200, suppliers=10, parts=30, orders=20, invoices=150, seed=7, backdate=True
    )
    counts = made.counts()
    assert counts["Contact"] == 210 and counts["Part"] == 30 and counts["Order"] == 20 and counts["Invoice"] == 150
    contacts_ = state.objects(account.account_id, "Contact")
    assert {c["category"]["id"] for c in contacts_} == {"2", "3"}
    assert all(isinstance(c["customerNumber"], str) and c["status"] == "1000" for c in contacts_)
    assert any(c["name"] for c in contacts_) and any(c["surename"] and not c["name"] for c in contacts_)
    ways = state.objects(account.account_id, "CommunicationWay")
    assert {w["main"] for w in ways} == {"0", "1"} and {w["type"] for w in ways} == {"EMAIL", "PHONE", "MOBILE"}
    invoices = state.objects(account.account_id, "Invoice")
    assert {i["status"] for i in invoices} == {"100", "200", "750", "1000"}
    assert all(isinstance(i["sumGross"], str) and isinstance(i["paidAmount"], int | float) for i in invoices)
    now = state.now()
    assert all(datetime.fromisoformat(row["update"]) < now for row in [*contacts_, *invoices])
    # The same seed gives the same data (benchmarks compare like with like).
    other = state.create_account(name="Twin")
    generate(
        state, other.account_id, contacts=200, suppliers=10, parts=30, orders=20, invoices=150, seed=7, backdate=True
    )
    twin = state.objects(other.account_id, "Contact")
    assert [c["name"] for c in twin] == [c["name"] for c in contacts_]


def test_generated_cancellation_reads_like_the_live_api(state: SandboxState, account: Account) -> None:
    generate(state, account.account_id, contacts=5, cancelled=2, seed=1, backdate=True)
    invoices = state.objects(account.account_id, "Invoice")
    cancellations = [i for i in invoices if i["invoiceType"] == "SR"]
    assert len(cancellations) == 2
    for sr in cancellations:
        original = next(i for i in invoices if i["id"] == sr["origin"]["id"])
        assert sr["origin"] == {"id": original["id"], "objectName": "Invoice"}
        assert original["invoiceType"] == "RE" and original["cancelled"] is None
        assert (original["status"], original["paidAmount"], sr["status"], sr["paidAmount"]) == ("1000", 0, "1000", 0)
        assert original["enshrined"] and sr["enshrined"]
        assert sr["sumGross"] == "-" + original["sumGross"] and sr["invoiceNumber"] != original["invoiceNumber"]
        assert sr["customerInternalNote"] == original["customerInternalNote"]
        assert datetime.fromisoformat(sr["update"]) <= state.now()


def test_admin_generate_change_and_delete(admin: httpx.Client, client: httpx.Client, account: Account) -> None:
    base = f"/accounts/{account.account_id}"
    made = admin.post(f"{base}/generate", json={"contacts": 3, "invoices": 2, "seed": 3})
    assert made.status_code == 201 and made.json()["created"]["Contact"] == 3
    assert admin.post(f"{base}/generate", json={"contacts": -1}).status_code == 400
    assert admin.post(f"{base}/generate", json={"contact": 1}).status_code == 400
    assert admin.post("/accounts/nope/generate", json={}).status_code == 404

    contact = client.get("/Contact", params={"depth": 1}).json()["objects"][0]
    later = iso(datetime.fromisoformat(contact["update"]) + timedelta(days=400))
    changed = admin.patch(
        f"{base}/objects/Contact/{contact['id']}", json={"fields": {"description": "VIP", "id": "1"}, "update": later}
    )
    assert changed.status_code == 200
    assert changed.json()["description"] == "VIP" and changed.json()["update"] == later
    assert changed.json()["id"] == contact["id"]  # ids and timestamps are not fields
    touched = admin.patch(f"{base}/objects/Contact/{contact['id']}", json={"fields": {"vatNumber": 123}})
    assert touched.json()["vatNumber"] == "123" and touched.json()["update"] != later
    assert admin.patch(f"{base}/objects/Contact/1", json={"fields": {}}).status_code == 404
    assert admin.patch(f"{base}/objects/Contact/{contact['id']}", json={"update": "yesterday"}).status_code == 400
    assert admin.get(f"{base}/objects/Contact/{contact['id']}").json()["description"] == "VIP"

    # Admin delete ignores sevDesk's rules (the contact has invoices) and takes the dependents along.
    addresses_before = [
        a for a in admin.get(f"{base}/objects/ContactAddress").json() if a["contact"]["id"] == contact["id"]
    ]
    assert addresses_before
    deleted = admin.delete(f"{base}/objects/Contact/{contact['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] >= 2
    assert client.get(f"/Contact/{contact['id']}").status_code == 404
    assert not [a for a in admin.get(f"{base}/objects/ContactAddress").json() if a["contact"]["id"] == contact["id"]]
    assert admin.delete(f"{base}/objects/Contact/{contact['id']}").status_code == 404


def test_documents_delete_only_as_drafts(client: httpx.Client, state: SandboxState, account: Account) -> None:
    contact = create_contact(client)
    draft = state.seed(account.account_id, "Invoice", {"contact": contact["id"], "status": 100})
    sent = state.seed(account.account_id, "Invoice", {"contact": contact["id"], "status": 200})
    state.seed(account.account_id, "InvoicePos", {"invoice": draft["id"], "quantity": 1})
    order = state.seed(account.account_id, "Order", {"contact": contact["id"], "status": 100, "orderType": "AB"})
    state.seed(account.account_id, "OrderPos", {"order": order["id"], "quantity": 1})
    refused = client.delete(f"/Invoice/{sent['id']}")
    assert refused.status_code == 409 and "Cancel" in refused.json()["error"]["message"]
    assert client.delete(f"/Invoice/{draft['id']}").status_code == 200
    assert client.delete(f"/Order/{order['id']}").status_code == 200
    assert client.get(f"/Invoice/{draft['id']}").status_code == 404
    assert not state.objects(account.account_id, "InvoicePos") and not state.objects(account.account_id, "OrderPos")
    assert client.delete("/Invoice/1").status_code == 404
    assert client.delete(f"/Part/{order['id']}").status_code == 405  # sevDesk has no DELETE /Part


def test_contact_deletion_rules_match_delete_contact() -> None:
    assert DEPENDENTS["Contact"] == contacts.DEPENDENTS


def test_incremental_filters(client: httpx.Client, state: SandboxState, account: Account) -> None:
    generate(state, account.account_id, contacts=20, parts=5, orders=5, invoices=10, seed=2, backdate=True)
    watermark = int(state.now().timestamp())
    assert client.get("/Contact", params={"updateAfter": watermark, "depth": 1}).json()["objects"] == []
    assert client.get("/Invoice", params={"updateAfter": watermark}).json()["objects"] == []
    assert client.get("/Order", params={"updateAfter": watermark}).json()["objects"] == []
    # /Part ignores updateAfter (unconfirmed live): an importer has to read parts in full.
    assert len(client.get("/Part", params={"updateAfter": watermark}).json()["objects"]) == 5
    order = client.get("/Order").json()["objects"][0]
    state.change(account.account_id, "Order", order["id"], {"status": "1000"})
    assert [o["id"] for o in client.get("/Order", params={"updateAfter": watermark - 1}).json()["objects"]] == [
        order["id"]
    ]


def test_order_positions_embed_units_and_parts(client: httpx.Client, state: SandboxState, account: Account) -> None:
    generate(state, account.account_id, contacts=5, parts=5, orders=3, seed=4, backdate=True)
    order = client.get("/Order", params={"embed": "contact"}).json()["objects"][0]
    assert order["contact"]["objectName"] == "Contact" and "customerNumber" in order["contact"]
    positions = client.get(f"/Order/{order['id']}/getPositions", params={"embed": "unity,part"}).json()["objects"]
    assert positions
    assert all(p["unity"]["name"] and p["part"]["partNumber"].startswith("ART-") for p in positions)


def test_embedding_a_page_reads_children_once(client: httpx.Client, state: SandboxState, account: Account) -> None:
    generate(state, account.account_id, contacts=300, seed=5, backdate=True)
    page = client.get(
        "/Contact", params={"depth": 1, "limit": 300, "embed": "addresses,addresses.country,communicationWays"}
    ).json()["objects"]
    assert len(page) == 300
    for contact in page:
        assert contact["addresses"] and all(a["contact"]["id"] == contact["id"] for a in contact["addresses"])
        assert all(a["country"]["code"] == "de" for a in contact["addresses"])
        assert all(w["contact"]["id"] == contact["id"] for w in contact["communicationWays"])
