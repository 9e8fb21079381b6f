"""The /__sandbox admin API and the request log."""

from __future__ import annotations

import time

import httpx
import pytest

from sevdesk_sandbox import Account, SandboxServer, SandboxState

pytestmark = pytest.mark.functional


def test_admin_account_lifecycle(server: SandboxServer, admin: httpx.Client) -> None:
    created = admin.post("/accounts", json={"name": "Admin GmbH", "bookkeeping_system_version": "1.0"})
    assert created.status_code == 201
    account_id, token = created.json()["account_id"], created.json()["token"]
    api = httpx.Client(base_url=server.url, headers={"Authorization": token})
    assert api.get("/Tools/bookkeepingSystemVersion").json() == {"objects": {"version": "1.0"}}
    rotated = admin.post(f"/accounts/{account_id}/rotate-token").json()["token"]
    assert api.get("/SevUser").status_code == 401
    assert httpx.get(f"{server.url}/SevUser", headers={"Authorization": rotated}).status_code == 200
    assert admin.post("/accounts/nope/rotate-token").status_code == 404


def test_admin_seed_and_objects(server: SandboxServer, admin: httpx.Client, account: Account) -> None:
    one = admin.post(
        f"/accounts/{account.account_id}/seed",
        json={"objectName": "Contact", "object": {"name": "Seeded", "category": {"id": 3}, "status": 1000}},
    )
    assert one.status_code == 201
    seeded = one.json()
    assert seeded["status"] == "1000" and seeded["category"]["id"] == "3" and isinstance(seeded["id"], str)
    many = admin.post(
        f"/accounts/{account.account_id}/seed",
        json={
            "objects": [
                {"objectName": "Contact", "object": {"id": 5555, "name": "Fixed id", "category": {"id": 3}}},
                {"objectName": "Unity", "object": {"id": 374970, "name": "Jahr(e)"}},
            ]
        },
    )
    assert [row["id"] for row in many.json()["objects"]] == ["5555", "374970"]
    listed = admin.get(f"/accounts/{account.account_id}/objects/Contact").json()
    assert [row["name"] for row in listed] == ["Fixed id", "Seeded"]
    api = httpx.Client(base_url=server.url, headers={"Authorization": account.token})
    assert api.get("/Unity/374970").json()["objects"][0]["name"] == "Jahr(e)"


def test_admin_faults(server: SandboxServer, admin: httpx.Client, account: Account) -> None:
    response = admin.post("/faults", json={"kind": "rate_limit", "retry_after": 3, "path_pattern": "^/Contact"})
    assert response.status_code == 201 and response.json()["fault_id"]
    assert admin.post("/faults", json={"kind": "nonsense"}).status_code == 400
    api = httpx.Client(base_url=server.url, headers={"Authorization": account.token})
    assert api.get("/SevUser").status_code == 200
    assert api.get("/Contact").headers["Retry-After"] == "3"
    admin.post("/faults", json={"kind": "status", "status": 503, "times": None})
    assert len(admin.get("/faults").json()) == 1
    assert admin.delete("/faults").status_code == 204
    assert api.get("/Contact").status_code == 200


def test_request_log_never_holds_the_token(
    server: SandboxServer, admin: httpx.Client, state: SandboxState, account: Account
) -> None:
    api = httpx.Client(base_url=server.url, headers={"Authorization": account.token})
    api.post("/Contact", json={"name": "Logged", "category": {"id": 3, "objectName": "Category"}})
    api.get("/Contact", params={"depth": 1, "token": account.token})
    httpx.get(f"{server.url}/Contact", headers={"Authorization": "wrong"})
    entries = state.requests(account.account_id)
    assert [(e.method, e.path, e.status) for e in entries] == [("POST", "/Contact", 201), ("GET", "/Contact", 200)]
    assert entries[0].json["name"] == "Logged" and entries[1].query == {"depth": "1"}
    assert entries[0].account_id == account.account_id and entries[0].at.timestamp() <= time.time()
    everything = admin.get("/requests").json()
    assert len(everything) == 3 and everything[2]["status"] == 401 and everything[2]["account_id"] is None
    assert account.token not in str(everything)
    assert len(admin.get("/requests", params={"account_id": account.account_id}).json()) == 2


def test_admin_reset(admin: httpx.Client, state: SandboxState, account: Account) -> None:
    assert admin.post("/reset").status_code == 204
    assert state.accounts() == []
    assert state.account_for_token(account.token) is None
