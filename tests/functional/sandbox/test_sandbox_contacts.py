"""Contacts: depth, customer numbers and their quirks, custom fields, incremental filters."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sandbox_helpers import add_address, create_contact, error_of

from sevdesk_sandbox import Account, SandboxState

pytestmark = pytest.mark.functional


def _person(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"surename": "Erika", "familyname": "Mustermann", "category": {"id": 3, "objectName": "Category"}}
    response = client.post("/Contact", json={**body, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"])


def test_depth_default_hides_persons(client: httpx.Client) -> None:
    organisation = create_contact(client)
    person = _person(client)
    assert person["name"] is None
    default = [row["id"] for row in client.get("/Contact").json()["objects"]]
    assert default == [organisation["id"]]
    # Even an exact customerNumber filter does not find a person without depth=1.
    assert client.get("/Contact", params={"customerNumber": person["customerNumber"]}).json()["objects"] == []
    everything = [row["id"] for row in client.get("/Contact", params={"depth": 1}).json()["objects"]]
    assert everything == [organisation["id"], person["id"]]


def test_customer_numbers(client: httpx.Client) -> None:
    assert client.get("/Contact/Factory/getNextCustomerNumber").json() == {"objects": "1000"}
    first = create_contact(client)
    assert first["customerNumber"] == "1000"
    assert client.get("/Contact/Factory/getNextCustomerNumber").json() == {"objects": "1001"}
    own = create_contact(client, customerNumber="K-10042")
    assert own["customerNumber"] == "K-10042"
    check = "/Contact/Mapper/checkCustomerNumberAvailability"
    assert client.get(check, params={"customerNumber": "K-10042"}).json() == {"objects": False}
    assert client.get(check, params={"customerNumber": "K-1"}).json() == {"objects": True}
    missing = client.get(check)
    assert missing.status_code == 500
    error_of(missing)


def test_customer_number_filter_is_fuzzy(client: httpx.Client) -> None:
    create_contact(client, customerNumber="100")
    create_contact(client, customerNumber="1000")
    found = client.get("/Contact", params={"customerNumber": "100"}).json()["objects"]
    assert sorted(row["customerNumber"] for row in found) == ["100", "1000"]  # callers compare exactly


def test_person_with_parent_takes_parent_customer_number(client: httpx.Client) -> None:
    organisation = create_contact(client, customerNumber="K-1")
    person = _person(client, customerNumber="K-2", parent={"id": organisation["id"], "objectName": "Contact"})
    assert person["customerNumber"] == "K-1"
    assert person["parent"] == {"id": organisation["id"], "objectName": "Contact"}


def test_contact_validation(client: httpx.Client) -> None:
    response = client.post("/Contact", json={"name": "No Category"})
    assert response.status_code == 400
    error_of(response)
    response = client.post("/Contact", json={"category": {"id": 3, "objectName": "Category"}})
    assert response.status_code == 400
    response = client.post("/Contact", json={"name": "X", "category": {"id": 47, "objectName": "Category"}})
    assert response.status_code == 400


def test_name_filter_and_update(client: httpx.Client) -> None:
    contact = create_contact(client, name="Alpha GmbH")
    create_contact(client, name="Beta AG")
    found = client.get("/Contact", params={"name": "alpha"}).json()["objects"]
    assert [row["id"] for row in found] == [contact["id"]]
    response = client.put(f"/Contact/{contact['id']}", json={"name": "Alpha Holding", "vatNumber": "DE1"})
    assert response.status_code == 200
    updated = response.json()["objects"]
    assert updated["name"] == "Alpha Holding" and updated["vatNumber"] == "DE1"
    assert updated["customerNumber"] == contact["customerNumber"]


def test_update_after_filter(client: httpx.Client, state: SandboxState, account: Account) -> None:
    old = state.seed(
        account.account_id,
        "Contact",
        {"name": "Old GmbH", "category": {"id": 3, "objectName": "Category"}, "update": "2024-01-01T00:00:00+01:00"},
    )
    assert old["update"] == "2024-01-01T00:00:00+01:00" and old["status"] == "100"
    fresh = create_contact(client)
    watermark = int(time.time()) - 60
    rows = client.get("/Contact", params={"updateAfter": watermark}).json()["objects"]
    assert [row["id"] for row in rows] == [fresh["id"]]
    rows = client.get("/Contact", params={"updateBefore": watermark}).json()["objects"]
    assert [row["id"] for row in rows] == [old["id"]]
    # A write moves `update`, so the old contact shows up once edited.
    client.put(f"/Contact/{old['id']}", json={"description": "touched"})
    rows = client.get("/Contact", params={"updateAfter": watermark}).json()["objects"]
    assert {row["id"] for row in rows} == {old["id"], fresh["id"]}


def test_addresses_and_communication_ways(client: httpx.Client) -> None:
    contact = create_contact(client)
    address = add_address(client, contact["id"])
    assert address["country"] == {"id": "1", "objectName": "StaticCountry"}
    email = client.post(
        "/CommunicationWay",
        json={
            "contact": {"id": contact["id"], "objectName": "Contact"},
            "type": "EMAIL",
            "value": "buchhaltung@muster.example",
            "key": {"id": 2, "objectName": "CommunicationWayKey"},
            "main": True,
        },
    )
    assert email.status_code == 201
    assert email.json()["objects"]["main"] == "1" and email.json()["objects"]["key"]["id"] == "2"
    bad = client.post("/CommunicationWay", json={"contact": {"id": contact["id"]}, "type": "MAIL", "value": "x"})
    assert bad.status_code == 400
    ways = client.get("/CommunicationWay", params={"contact[id]": contact["id"], "type": "EMAIL"}).json()
    assert [row["value"] for row in ways["objects"]] == ["buchhaltung@muster.example"]
    addresses = client.get(
        "/ContactAddress", params={"contact[id]": contact["id"], "contact[objectName]": "Contact"}
    ).json()["objects"]
    assert [row["id"] for row in addresses] == [address["id"]]
    embedded = client.get(
        f"/Contact/{contact['id']}", params={"embed": "addresses,addresses.country,communicationWays,category"}
    ).json()["objects"][0]
    assert embedded["addresses"][0]["country"]["code"] == "de"
    assert embedded["communicationWays"][0]["type"] == "EMAIL"
    assert embedded["category"]["name"] == "Kunde"
    assert "addresses" not in client.get(f"/Contact/{contact['id']}").json()["objects"][0]


def test_custom_field_lookup(client: httpx.Client) -> None:
    setting = client.post("/ContactCustomFieldSetting", json={"name": "sevbridge_ref", "description": "ext id"})
    assert setting.status_code == 201
    setting_id = setting.json()["objects"]["id"]
    target = create_contact(client, name="Target")
    create_contact(client, name="Other")
    field = client.post(
        "/ContactCustomField",
        json={
            "contact": {"id": target["id"], "objectName": "Contact"},
            "contactCustomFieldSetting": {"id": setting_id, "objectName": "ContactCustomFieldSetting"},
            "value": "ext:shop:42",
            "objectName": "ContactCustomField",
        },
    )
    assert field.status_code == 201 and field.json()["objects"]["value"] == "ext:shop:42"
    find = "/Contact/Factory/findContactsByCustomFieldValue"
    by_name = client.get(find, params={"value": "ext:shop:42", "customFieldName": "sevbridge_ref"}).json()
    assert [row["id"] for row in by_name["objects"]] == [target["id"]]
    by_setting = client.get(
        find,
        params={
            "value": "ext:shop:42",
            "customFieldSetting[id]": setting_id,
            "customFieldSetting[objectName]": "ContactCustomFieldSetting",
        },
    ).json()
    assert [row["id"] for row in by_setting["objects"]] == [target["id"]]
    assert client.get(find, params={"value": "ext:shop:4", "customFieldName": "sevbridge_ref"}).json() == {
        "objects": []
    }
    field_id = field.json()["objects"]["id"]
    assert client.put(f"/ContactCustomField/{field_id}", json={"value": "ext:shop:43"}).status_code == 200
    moved = client.get(find, params={"value": "ext:shop:43", "customFieldName": "sevbridge_ref"}).json()
    assert [row["id"] for row in moved["objects"]] == [target["id"]]


def test_delete_contact(client: httpx.Client) -> None:
    contact = create_contact(client)
    add_address(client, contact["id"])
    response = client.delete(f"/Contact/{contact['id']}")
    assert response.status_code == 200 and response.json() == {"objects": [None]}
    assert client.get(f"/Contact/{contact['id']}").status_code == 404
    assert client.get("/ContactAddress").json()["objects"] == []
