"""saveInvoice validation and answer types, sendBy numbering, bookAmount, resets, filters."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sandbox_helpers import add_address, create_contact, error_of, invoice_body

from sevdesk_sandbox import Account, SandboxState

pytestmark = pytest.mark.functional

SAVE = "/Invoice/Factory/saveInvoice"


@pytest.fixture
def contact(client: httpx.Client) -> dict[str, Any]:
    return create_contact(client)


@pytest.fixture
def body(contact: dict[str, Any], account: Account) -> dict[str, Any]:
    return invoice_body(contact["id"], account.sev_user_id)


def _save(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(SAVE, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"])


def _rejected(client: httpx.Client, body: dict[str, Any], status: int = 422) -> str:
    response = client.post(SAVE, json=body)
    assert response.status_code == status, response.text
    return str(error_of(response)["message"])


def _open_invoice(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    invoice = _save(client, body)["invoice"]
    response = client.put(f"/Invoice/{invoice['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False})
    assert response.status_code == 200, response.text
    return dict(response.json()["objects"])


def _check_account(client: httpx.Client, kind: str) -> str:
    return str(next(row["id"] for row in client.get("/CheckAccount").json()["objects"] if row["type"] == kind))


def test_save_answer_types(client: httpx.Client, body: dict[str, Any]) -> None:
    answer = _save(client, body)
    assert set(answer) == {"invoice", "invoicePos", "vatdrop"}
    invoice = answer["invoice"]
    assert invoice["sumNet"] == "225" and invoice["sumTax"] == "39.75" and invoice["sumGross"] == "264.75"
    assert invoice["taxRate"] == "0" and invoice["showNet"] == "1" and invoice["status"] == "100"
    assert invoice["taxRule"] == {"id": "1", "objectName": "TaxRule"}
    assert invoice["invoiceNumber"] is None
    assert invoice["customerInternalNote"] == "ext:tenantA:shop:order:1001"
    assert invoice["invoiceDate"] == "2025-07-01T00:00:00+02:00"
    first, second = answer["invoicePos"]
    assert first["quantity"] == 2 and first["price"] == 100 and first["priceGross"] == 119
    assert first["taxRate"] == "19.00" and isinstance(first["id"], str)
    assert second["quantity"] is True  # live quirk for a quantity of 1
    assert second["taxRate"] == "7.00" and second["sumGross"] == 26.75
    # Reads give the positions' numbers as strings.
    positions = client.get(f"/Invoice/{invoice['id']}/getPositions").json()["objects"]
    assert [row["quantity"] for row in positions] == ["2", "1"]
    by_filter = client.get("/InvoicePos", params={"invoice[id]": invoice["id"], "invoice[objectName]": "Invoice"})
    assert [row["id"] for row in by_filter.json()["objects"]] == [row["id"] for row in positions]


def test_gross_prices(client: httpx.Client, body: dict[str, Any]) -> None:
    body["invoice"]["showNet"] = False
    body["invoicePosSave"] = [{**body["invoicePosSave"][0], "quantity": 1, "price": 119}]
    invoice = _save(client, body)["invoice"]
    assert (invoice["sumNet"], invoice["sumTax"], invoice["sumGross"]) == ("100", "19", "119")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "200"}, "Invalid status. New invoices must be created with status 100."),
        ({"status": 1000}, "Invalid status. New invoices must be created with status 100."),
        ({"currency": None}, "Currency is required."),
    ],
)
def test_invoice_header_rejections(
    client: httpx.Client, body: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    body["invoice"].update(change)
    assert _rejected(client, body) == message
    assert client.get("/Invoice").json()["objects"] == []


def test_positions_required(client: httpx.Client, body: dict[str, Any]) -> None:
    body["invoicePosSave"] = []
    assert _rejected(client, body) == "The given document must have at least one position"
    body["invoicePosSave"] = None
    assert _rejected(client, body) == "The given document must have at least one position"


def test_contact_required_and_must_exist(client: httpx.Client, body: dict[str, Any]) -> None:
    body["invoice"]["contact"] = None
    assert "contact" in _rejected(client, body)
    body["invoice"]["contact"] = {"id": 424242, "objectName": "Contact"}
    assert _rejected(client, body) == "No Model_Contact with the id 424242 was found"


def test_rate_must_fit_tax_rule(client: httpx.Client, body: dict[str, Any]) -> None:
    body["invoicePosSave"][0]["taxRate"] = 16
    assert "tax rule 1" in _rejected(client, body)
    body["invoicePosSave"][0]["taxRate"] = 19
    body["invoice"]["taxRule"] = {"id": 11, "objectName": "TaxRule"}
    assert "tax rule 11" in _rejected(client, body)
    for position in body["invoicePosSave"]:
        position["taxRate"] = 0
    assert _save(client, body)["invoice"]["sumTax"] == "0"


def test_unknown_unit_rejected(client: httpx.Client, body: dict[str, Any]) -> None:
    body["invoicePosSave"][0]["unity"] = {"id": 12, "objectName": "Unity"}
    assert _rejected(client, body) == "No Model_Unity with the id 12 was found"


def test_pos_delete_must_be_an_array(client: httpx.Client, body: dict[str, Any]) -> None:
    body["invoicePosDelete"] = 5
    assert _rejected(client, body) == "invoicePosDelete expected array with 'id' and 'objectName'. integer given"
    body["invoicePosDelete"] = {"id": 5, "objectName": "InvoicePos"}
    assert _rejected(client, body) == "invoicePosDelete expected array with 'id' and 'objectName'. integer given"


def test_edit_draft_positions(client: httpx.Client, body: dict[str, Any]) -> None:
    answer = _save(client, body)
    invoice_id = answer["invoice"]["id"]
    keep, drop = answer["invoicePos"]
    edit = {
        "invoice": {"id": invoice_id, "objectName": "Invoice", "header": "Neu"},
        "invoicePosSave": [{"id": keep["id"], "objectName": "InvoicePos", "mapAll": True, "quantity": 3}],
        "invoicePosDelete": [{"id": drop["id"], "objectName": "InvoicePos"}],
        "discountSave": None,
        "discountDelete": None,
    }
    edited = _save(client, edit)
    assert edited["invoice"]["id"] == invoice_id and edited["invoice"]["header"] == "Neu"
    assert [row["id"] for row in edited["invoicePos"]] == [keep["id"]]
    assert edited["invoice"]["sumNet"] == "300" and edited["invoice"]["sumGross"] == "357"
    assert edited["invoice"]["customerInternalNote"] == "ext:tenantA:shop:order:1001"
    edit["invoicePosSave"] = None
    edit["invoicePosDelete"] = [{"id": keep["id"], "objectName": "InvoicePos"}]
    assert _rejected(client, edit) == "The given document must have at least one position"


def test_non_draft_cannot_be_edited(client: httpx.Client, body: dict[str, Any]) -> None:
    invoice = _open_invoice(client, body)
    edit = {"invoice": {"id": invoice["id"], "objectName": "Invoice", "header": "x"}, "invoicePosSave": None}
    assert "not a draft" in _rejected(client, edit)


def test_send_by_numbers_and_opens(client: httpx.Client, body: dict[str, Any]) -> None:
    draft = _save(client, body)["invoice"]
    unchanged = client.put(f"/Invoice/{draft['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": True})
    assert unchanged.json()["objects"]["status"] == "100"
    assert unchanged.json()["objects"]["invoiceNumber"] is None
    first = _open_invoice(client, body)
    second = _open_invoice(client, body)
    assert (first["status"], first["invoiceNumber"]) == ("200", "RE-1000")
    assert second["invoiceNumber"] == "RE-1001"
    own = _open_invoice(client, {**body, "invoice": {**body["invoice"], "invoiceNumber": "SHOP-7"}})
    assert own["invoiceNumber"] == "SHOP-7"


def test_send_by_needs_address(client: httpx.Client, body: dict[str, Any]) -> None:
    body["invoice"]["address"] = None
    body["takeDefaultAddress"] = True  # the contact has no ContactAddress: no address is taken
    draft = _save(client, body)["invoice"]
    assert draft["address"] is None
    response = client.put(f"/Invoice/{draft['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False})
    assert response.status_code == 422
    error_of(response)


def test_take_default_address(client: httpx.Client, body: dict[str, Any], contact: dict[str, Any]) -> None:
    add_address(client, contact["id"])
    body["invoice"]["address"] = None
    body["takeDefaultAddress"] = True
    draft = _save(client, body)["invoice"]
    assert draft["address"] == "Muster GmbH\nMusterstraße 1\n12345 Musterstadt"


def test_book_amount(client: httpx.Client, body: dict[str, Any], state: SandboxState, account: Account) -> None:
    cash = _check_account(client, "offline")
    booking = {
        "amount": 100,
        "date": 1751364000,
        "type": "N",
        "checkAccount": {"id": cash, "objectName": "CheckAccount"},
    }
    draft = _save(client, body)["invoice"]
    response = client.put(f"/Invoice/{draft['id']}/bookAmount", json=booking)
    assert response.status_code == 422 and error_of(response)["message"] == "A draft can not be paid"

    invoice = _open_invoice(client, body)
    partial = client.put(f"/Invoice/{invoice['id']}/bookAmount", json=booking)
    assert partial.status_code == 200, partial.text
    log = partial.json()["objects"]
    assert (log["fromStatus"], log["toStatus"], log["ammountPayed"]) == ("200", "750", "100")
    assert client.get(f"/Invoice/{invoice['id']}/getIsPartiallyPaid").json() == {"objects": True}
    rest = client.put(
        f"/Invoice/{invoice['id']}/bookAmount", json={**booking, "amount": 164.75, "type": "FULL_PAYMENT"}
    )
    assert rest.json()["objects"]["toStatus"] == "1000"
    paid = client.get(f"/Invoice/{invoice['id']}").json()["objects"][0]
    assert paid["status"] == "1000" and paid["paidAmount"] == 264.75
    assert len(state.objects(account.account_id, "CheckAccountTransaction")) == 2

    reopened = client.put(f"/Invoice/{invoice['id']}/resetToOpen")
    assert reopened.status_code == 200 and reopened.json()["objects"]["status"] == "200"


def test_online_account_needs_transaction(client: httpx.Client, body: dict[str, Any]) -> None:
    bank = _check_account(client, "online")
    invoice = _open_invoice(client, body)
    booking: dict[str, Any] = {
        "amount": 264.75,
        "date": "01.07.2025",
        "type": "FULL_PAYMENT",
        "checkAccount": {"id": bank, "objectName": "CheckAccount"},
    }
    assert client.put(f"/Invoice/{invoice['id']}/bookAmount", json=booking).status_code == 422
    booking["checkAccountTransaction"] = {"id": 77, "objectName": "CheckAccountTransaction"}
    response = client.put(f"/Invoice/{invoice['id']}/bookAmount", json=booking)
    assert response.status_code == 200 and response.json()["objects"]["toStatus"] == "1000"


def test_reset_to_draft_only_from_open(client: httpx.Client, body: dict[str, Any]) -> None:
    draft = _save(client, body)["invoice"]
    assert client.put(f"/Invoice/{draft['id']}/resetToDraft").status_code == 422
    invoice = _open_invoice(client, body)
    response = client.put(f"/Invoice/{invoice['id']}/resetToDraft")
    assert response.status_code == 200 and response.json()["objects"]["status"] == "100"


def test_invoice_filters(client: httpx.Client, body: dict[str, Any], contact: dict[str, Any]) -> None:
    first = _save(client, body)["invoice"]
    body["invoice"]["customerInternalNote"] = "ext:tenantA:shop:order:10010"
    body["invoice"]["invoiceDate"] = "15.08.2025"
    body["invoice"]["deliveryDate"] = "15.08.2025"
    second = _save(client, body)["invoice"]
    note = "ext:tenantA:shop:order:1001"
    for param in ("customerInternalNote", "customerIntenalNote"):
        found = client.get("/Invoice", params={param: note}).json()["objects"]
        exact = [row["id"] for row in found if row["customerInternalNote"] == note]
        assert exact == [first["id"]] and len(found) == 2  # LIKE match: compare exactly
    by_status = client.get("/Invoice", params={"status": 100, "countAll": "true"}).json()
    assert by_status["total"] == "2"
    august = client.get("/Invoice", params={"startDate": 1754000000}).json()["objects"]
    assert [row["id"] for row in august] == [second["id"]]
    by_contact = client.get("/Invoice", params={"contact[id]": contact["id"], "contact[objectName]": "Contact"})
    assert len(by_contact.json()["objects"]) == 2
    embedded = client.get("/Invoice", params={"embed": "contact", "limit": 1}).json()["objects"][0]
    assert embedded["contact"]["name"] == "Muster GmbH"
    recent = client.get("/Invoice", params={"updateAfter": int(time.time()) - 60}).json()["objects"]
    assert len(recent) == 2
    assert client.get("/Invoice", params={"createAfter": int(time.time()) + 60}).json()["objects"] == []


def test_contact_in_use_cannot_be_deleted(client: httpx.Client, body: dict[str, Any], contact: dict[str, Any]) -> None:
    _save(client, body)
    response = client.delete(f"/Contact/{contact['id']}")
    assert response.status_code == 409
    error_of(response)
