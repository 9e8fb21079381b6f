"""Answers in the shapes recorded from the live API (api-facts §10): expanded references in write
answers, single objects for some GETs by id, live default values and fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_helpers import add_address, create_contact, invoice_body

from sevdesk_sandbox import Account

pytestmark = pytest.mark.functional


def _way(client: httpx.Client, contact_id: str) -> dict[str, Any]:
    body = {
        "contact": {"id": contact_id, "objectName": "Contact"},
        "type": "EMAIL",
        "value": "a@muster.example",
        "key": {"id": 2, "objectName": "CommunicationWayKey"},
    }
    response = client.post("/CommunicationWay", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"])


def test_contact_address_answer_expands_the_contact(client: httpx.Client) -> None:
    contact = create_contact(client)
    address = add_address(client, contact["id"])
    assert address["contact"]["id"] == contact["id"] and address["contact"]["name"] == "Muster GmbH"
    assert address["country"] == {"id": "1", "objectName": "StaticCountry"}  # not expanded
    stored = client.get(f"/ContactAddress/{address['id']}").json()["objects"][0]
    assert stored["contact"] == {"id": contact["id"], "objectName": "Contact"}  # reads stay references
    assert "additionalInformation" in stored


def test_save_invoice_answer_expands_unity_and_invoice_in_positions(client: httpx.Client, account: Account) -> None:
    body = invoice_body(create_contact(client)["id"], account.sev_user_id)
    answer = client.post("/Invoice/Factory/saveInvoice", json=body).json()["objects"]
    first = answer["invoicePos"][0]
    assert first["unity"]["name"] == "Std" and first["unity"]["uneceTradeUnitCode"] == "HUR"
    assert first["invoice"]["id"] == answer["invoice"]["id"] and first["invoice"]["objectName"] == "Invoice"
    assert first["quantity"] == 2  # still a JSON number in the save answer
    for field in ("priority", "isPercentage", "createNextPart", "temporary", "discountedValue"):
        assert field in first, field
    invoice = answer["invoice"]
    assert (invoice["sendType"], invoice["reminderCharge"], invoice["cancelled"]) == ("0", "0", None)
    for field in ("propertyIsEInvoice", "sumDiscountNet", "sumDiscountGross", "addressName2", "addressGender"):
        assert field in invoice, field


def test_communication_way_by_id_is_a_single_object(client: httpx.Client) -> None:
    way = _way(client, create_contact(client)["id"])
    answer = client.get(f"/CommunicationWay/{way['id']}").json()["objects"]
    assert isinstance(answer, dict) and answer["id"] == way["id"]
    assert "additionalInformation" in answer


def test_live_defaults_on_contacts_and_units(client: httpx.Client) -> None:
    contact = create_contact(client)
    assert (contact["defaultDiscountPercentage"], contact["defaultDiscountAmount"]) == ("1", None)
    assert "mandateReference" in contact and "defaultShowVat" in contact
    units = client.get("/Unity", params={"limit": 100}).json()["objects"]
    assert {unit["unitySystem"] for unit in units} == {"general"}
