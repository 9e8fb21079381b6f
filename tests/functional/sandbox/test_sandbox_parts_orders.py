"""Parts (create/update with the 0/7/19 rule) and seeded orders with their positions."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import create_contact, error_of

from sevdesk_sandbox import Account, SandboxState

pytestmark = pytest.mark.functional

PART = {
    "name": "Fachbuch Buchhaltung",
    "partNumber": "ART-0001",
    "stock": 0,
    "stockEnabled": False,
    "unity": {"id": 1, "objectName": "Unity"},
    "priceNet": 23.36,
    "priceGross": 25.0,
    "taxRate": 7,
    "status": 100,
}


def test_parts(client: httpx.Client) -> None:
    created = client.post("/Part", json=PART)
    assert created.status_code == 201
    part = created.json()["objects"]
    assert (part["taxRate"], part["priceGross"], part["stockEnabled"], part["unity"]["id"]) == ("7", "25", "0", "1")
    bad = client.post("/Part", json={**PART, "taxRate": 16})
    assert bad.status_code == 422
    error_of(bad)
    assert client.post("/Part", json={"name": "incomplete"}).status_code == 400
    updated = client.put(f"/Part/{part['id']}", json={"priceGross": 26, "taxRate": 19})
    assert updated.status_code == 200 and updated.json()["objects"]["taxRate"] == "19"
    assert client.put(f"/Part/{part['id']}", json={"taxRate": 5}).status_code == 422
    assert client.get("/Part", params={"partNumber": "ART-0001"}).json()["objects"][0]["id"] == part["id"]
    assert client.get(f"/Part/{part['id']}").json()["objects"][0]["name"] == PART["name"]
    assert client.get("/Part/1").status_code == 404


def test_orders(client: httpx.Client, state: SandboxState, account: Account) -> None:
    contact = create_contact(client)
    order = state.seed(
        account.account_id,
        "Order",
        {
            "orderNumber": "AB-1001",
            "orderType": "AB",
            "status": 200,
            "orderDate": "2025-07-01T00:00:00+02:00",
            "contact": {"id": contact["id"], "objectName": "Contact"},
            "sumNet": 100,
        },
    )
    state.seed(account.account_id, "Order", {"orderNumber": "AN-1", "orderType": "AN", "status": 100})
    position = state.seed(
        account.account_id,
        "OrderPos",
        {"order": {"id": order["id"], "objectName": "Order"}, "quantity": 2, "price": 50, "taxRate": "19.00"},
    )
    confirmations = client.get("/Order", params={"orderType": "AB"}).json()["objects"]
    assert [row["id"] for row in confirmations] == [order["id"]]
    assert confirmations[0]["status"] == "200" and confirmations[0]["sumNet"] == "100"
    assert len(client.get("/Order", params={"contact[id]": contact["id"]}).json()["objects"]) == 1
    assert client.get(f"/Order/{order['id']}").json()["objects"][0]["orderNumber"] == "AB-1001"
    positions = client.get(f"/Order/{order['id']}/getPositions").json()["objects"]
    assert [(row["id"], row["quantity"]) for row in positions] == [(position["id"], "2")]
    by_filter = client.get("/OrderPos", params={"order[id]": order["id"], "order[objectName]": "Order"})
    assert [row["id"] for row in by_filter.json()["objects"]] == [position["id"]]
    response = client.delete(f"/Contact/{contact['id']}")
    assert response.status_code == 409
