"""POST /Invoice/{id}/cancelInvoice behaves as recorded live (api-facts §10 "Cancellation") and refuses
what the spec text rules out (drafts, cancellation documents, a second cancellation)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_helpers import create_contact, error_of, invoice_body

from sevdesk_sandbox import Account

pytestmark = pytest.mark.functional

SAVE = "/Invoice/Factory/saveInvoice"


@pytest.fixture
def body(client: httpx.Client, account: Account) -> dict[str, Any]:
    return invoice_body(create_contact(client)["id"], account.sev_user_id)


def _draft(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(SAVE, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"]["invoice"])


def _open(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    draft = _draft(client, body)
    response = client.put(f"/Invoice/{draft['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False})
    assert response.status_code == 200, response.text
    return dict(response.json()["objects"])


def _get(client: httpx.Client, invoice_id: str) -> dict[str, Any]:
    return dict(client.get(f"/Invoice/{invoice_id}").json()["objects"][0])


def test_cancel_leaves_both_documents_as_recorded_live(client: httpx.Client, body: dict[str, Any]) -> None:
    original = _open(client, body)

    response = client.post(f"/Invoice/{original['id']}/cancelInvoice")

    assert response.status_code == 201, response.text
    cancellation = response.json()["objects"]  # a single object: the cancellation document
    assert cancellation["invoiceType"] == "SR"
    assert cancellation["origin"] == {"id": original["id"], "objectName": "Invoice"}
    assert cancellation["invoiceNumber"] == "SR-1000"  # its own next number
    assert (cancellation["sumNet"], cancellation["sumTax"], cancellation["sumGross"]) == ("-225", "-39.75", "-264.75")
    cancelled = _get(client, original["id"])
    for document in (cancelled, _get(client, cancellation["id"])):
        assert document["status"] == "1000" and document["paidAmount"] == 0  # "paid" with nothing paid
        assert document["customerInternalNote"] == "ext:tenantA:shop:order:1001"
        assert document["enshrined"]
    assert cancelled["cancelled"] is None and cancelled["invoiceType"] == "RE"
    assert cancelled["sumGross"] == "264.75"  # the original keeps its sums
    positions = client.get(f"/Invoice/{cancellation['id']}/getPositions").json()["objects"]
    assert [(p["quantity"], p["sumGross"]) for p in positions] == [("-2", "-238"), ("-1", "-26.75")]
    # Both come back when looking for the shared marker: only `origin` tells them apart.
    found = client.get("/Invoice", params={"customerInternalNote": "ext:tenantA:shop:order:1001"}).json()["objects"]
    assert sorted(row["invoiceType"] for row in found) == ["RE", "SR"]
    assert [row["id"] for row in client.get("/Invoice", params={"invoiceType": "SR"}).json()["objects"]] == [
        cancellation["id"]
    ]


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda client, body: _draft(client, body)["id"], "drafts are deleted, not cancelled"),
        (
            lambda client, body: client.post(f"/Invoice/{_open(client, body)['id']}/cancelInvoice").json()["objects"][
                "id"
            ],
            "is a cancellation invoice",
        ),
    ],
    ids=["draft", "cancellation document"],
)
def test_what_cannot_be_cancelled(client: httpx.Client, body: dict[str, Any], prepare: Any, message: str) -> None:
    invoice_id = prepare(client, body)
    before = client.get("/Invoice").json()["objects"]

    response = client.post(f"/Invoice/{invoice_id}/cancelInvoice")

    assert response.status_code == 400
    assert message in error_of(response)["message"]
    assert client.get("/Invoice").json()["objects"] == before  # nothing changed


def test_a_second_cancellation_and_a_paid_invoice_are_refused(client: httpx.Client, body: dict[str, Any]) -> None:
    original = _open(client, body)
    assert client.post(f"/Invoice/{original['id']}/cancelInvoice").status_code == 201
    again = client.post(f"/Invoice/{original['id']}/cancelInvoice")
    assert again.status_code == 400 and "already been cancelled" in error_of(again)["message"]

    paid = _open(client, body)
    cash = next(row["id"] for row in client.get("/CheckAccount").json()["objects"] if row["type"] == "offline")
    booking = {
        "amount": 10,
        "date": 1751364000,
        "type": "N",
        "checkAccount": {"id": cash, "objectName": "CheckAccount"},
    }
    assert client.put(f"/Invoice/{paid['id']}/bookAmount", json=booking).status_code == 200
    refused = client.post(f"/Invoice/{paid['id']}/cancelInvoice")
    assert refused.status_code == 400 and "payments booked" in error_of(refused)["message"]


def test_unknown_invoice_is_404_with_code_151(client: httpx.Client) -> None:
    response = client.post("/Invoice/5999999/cancelInvoice")
    assert response.status_code == 404 and error_of(response)["code"] == 151
