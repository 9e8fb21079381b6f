"""Auth, envelopes, ids-as-strings, paging and reference data behave like the live API."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_helpers import create_contact, error_of

from sevdesk_sandbox import Account, SandboxServer, SandboxState

pytestmark = pytest.mark.functional


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "0" * 32}, {"Authorization": "Bearer {token}"}],
    ids=["missing", "unknown", "bearer-prefix"],
)
def test_bad_token_gets_401_envelope(server: SandboxServer, account: Account, headers: dict[str, str]) -> None:
    headers = {key: value.format(token=account.token) for key, value in headers.items()}
    response = httpx.get(f"{server.url}/Contact", headers=headers)
    assert response.status_code == 401
    error = error_of(response)
    assert error["message"] == "Authentication required"
    assert error["code"] is None and error["errorCode"] == 0 and error["data"] == []
    assert re.fullmatch(r"[0-9a-f-]{36}", error["exceptionUUID"])


def test_rotated_token_stops_working(server: SandboxServer, state: SandboxState, account: Account) -> None:
    old = account.token
    assert re.fullmatch(r"[0-9a-f]{32}", old)
    new = state.rotate_token(account.account_id)
    assert re.fullmatch(r"[0-9a-f]{32}", new) and new != old
    assert httpx.get(f"{server.url}/SevUser", headers={"Authorization": old}).status_code == 401
    assert httpx.get(f"{server.url}/SevUser", headers={"Authorization": new}).status_code == 200


def test_accounts_are_isolated(server: SandboxServer, state: SandboxState, client: httpx.Client) -> None:
    contact = create_contact(client)
    other = state.create_account(name="Other GmbH")
    response = httpx.get(f"{server.url}/Contact/{contact['id']}", headers={"Authorization": other.token})
    assert response.status_code == 404


def test_bookkeeping_version_and_user(client: httpx.Client, account: Account) -> None:
    assert client.get("/Tools/bookkeepingSystemVersion").json() == {"objects": {"version": "2.0"}}
    users = client.get("/SevUser").json()["objects"]
    assert len(users) == 1
    assert users[0]["id"] == account.sev_user_id and isinstance(users[0]["id"], str)
    assert users[0]["sevClient"] == {"id": account.account_id, "objectName": "SevClient", "name": "Demo GmbH"}
    assert users[0]["username"] and users[0]["fullname"]


def test_get_by_id_is_a_list_and_ids_are_strings(client: httpx.Client) -> None:
    created = create_contact(client, status=1000, exemptVat=False)
    assert isinstance(created["id"], str)
    assert created["status"] == "1000" and created["exemptVat"] == "0"
    assert created["category"] == {"id": "3", "objectName": "Category"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", created["create"])
    body = client.get(f"/Contact/{created['id']}").json()
    assert isinstance(body["objects"], list) and body["objects"][0]["id"] == created["id"]


def test_missing_object_is_404_code_151(client: httpx.Client) -> None:
    response = client.get("/Contact/999")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == 151
    assert error["message"] == "No Model_Contact with the id 999 was found"


def test_pagination_and_count_all(client: httpx.Client) -> None:
    ids = [create_contact(client, name=f"Firma {n}")["id"] for n in range(5)]
    first = client.get("/Contact", params={"limit": 2}).json()
    assert [row["id"] for row in first["objects"]] == ids[:2] and "total" not in first
    last = client.get("/Contact", params={"limit": 2, "offset": 4, "countAll": "true"}).json()
    assert [row["id"] for row in last["objects"]] == ids[4:]
    assert last["total"] == "5"
    for bad in (0, 1001, "x"):
        response = client.get("/Contact", params={"limit": bad})
        assert response.status_code == 400
        error_of(response)


def test_default_limit_is_100(client: httpx.Client, state: SandboxState, account: Account) -> None:
    for n in range(105):
        state.seed(account.account_id, "Contact", {"name": f"Seeded {n}", "category": {"id": 3}})
    assert len(client.get("/Contact").json()["objects"]) == 100


def test_reference_data(client: httpx.Client) -> None:
    units = {row["id"]: row for row in client.get("/Unity").json()["objects"]}
    assert units["9"]["name"] == "Std" and units["9"]["uneceTradeUnitCode"] == "HUR"
    assert units["1"]["translationCode"] == "UNITY_PIECE" and units["1"]["uneceTradeUnitCode"] == "C62"
    assert {"1", "2", "3", "4", "7", "13", "15", "37"} <= set(units)
    germany = client.get("/StaticCountry", params={"code": "de"}).json()["objects"]
    assert [(row["id"], row["nameEn"]) for row in germany] == [("1", "Germany")]
    assert len(client.get("/StaticCountry", params={"code": "gb"}).json()["objects"]) == 2
    address_categories = client.get("/Category", params={"objectType": "ContactAddress"}).json()["objects"]
    assert {row["id"] for row in address_categories} == {"43", "44", "45", "47", "48", "49"}
    accounts = client.get("/CheckAccount").json()["objects"]
    assert sorted(row["type"] for row in accounts) == ["offline", "online"]
    keys = client.get("/CommunicationWayKey").json()["objects"]
    assert [row["id"] for row in keys] == [str(n) for n in range(1, 9)]


def test_unknown_route_uses_error_envelope(client: httpx.Client) -> None:
    response = client.get("/NoSuchResource")
    assert response.status_code == 404
    error_of(response)


def test_concurrent_writes_get_unique_ids_and_numbers(server: SandboxServer, account: Account) -> None:
    def create(n: int) -> dict[str, str]:
        body = {"name": f"Parallel {n}", "category": {"id": 3, "objectName": "Category"}}
        response = httpx.post(f"{server.url}/Contact", json=body, headers={"Authorization": account.token})
        assert response.status_code == 201
        return dict(response.json()["objects"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(24)))
    assert len({row["id"] for row in created}) == 24
    assert len({row["customerNumber"] for row in created}) == 24
