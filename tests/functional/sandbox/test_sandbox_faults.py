"""Injected faults: latency, 5xx, 429 + Retry-After, a timeout, an error answer or a dropped connection after
the write was committed; probabilities (seeded) and fault sets per account."""

from __future__ import annotations

import time
from typing import Literal

import httpx
import pytest
from sandbox_helpers import create_contact, error_of

from sevdesk_sandbox import Account, Fault, SandboxServer, SandboxState

pytestmark = pytest.mark.functional


def test_latency(client: httpx.Client, state: SandboxState) -> None:
    state.add_fault(Fault(kind="latency", delay_seconds=0.3, path_pattern="^/SevUser$"))
    started = time.monotonic()
    assert client.get("/SevUser").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    client.get("/SevUser")  # times=1: used up
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_status_fault_does_nothing(client: httpx.Client, state: SandboxState, account: Account, status: int) -> None:
    state.add_fault(Fault(kind="status", status=status, method="POST", path_pattern="^/Contact$"))
    response = client.post("/Contact", json={"name": "X", "category": {"id": 3, "objectName": "Category"}})
    assert response.status_code == status
    assert error_of(response)["responseCode"] == status
    assert state.objects(account.account_id, "Contact") == []
    create_contact(client)  # the fault hit once only


def test_status_fault_html_body(client: httpx.Client, state: SandboxState) -> None:
    state.add_fault(Fault(kind="status", status=502, body="html"))
    response = client.get("/Contact")
    assert response.status_code == 502 and response.headers["content-type"].startswith("text/html")


def test_rate_limit(client: httpx.Client, state: SandboxState) -> None:
    state.add_fault(Fault(kind="rate_limit", retry_after=7, times=2))
    for _ in range(2):
        response = client.get("/Contact")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert error_of(response)["message"] == "Too Many Requests"
    assert client.get("/Contact").status_code == 200


def test_fault_scoped_to_account(server: SandboxServer, state: SandboxState, client: httpx.Client) -> None:
    other = state.create_account(name="Other")
    state.add_fault(Fault(kind="status", status=500, account_id=other.account_id, times=None))
    assert client.get("/Contact").status_code == 200
    for _ in range(2):
        assert httpx.get(f"{server.url}/Contact", headers={"Authorization": other.token}).status_code == 500
    state.clear_faults()
    assert httpx.get(f"{server.url}/Contact", headers={"Authorization": other.token}).status_code == 200


def test_timeout_after_commit(server: SandboxServer, state: SandboxState, account: Account) -> None:
    state.add_fault(Fault(kind="timeout_after_commit", delay_seconds=0.6, method="POST"))
    body = {"name": "Committed GmbH", "category": {"id": 3, "objectName": "Category"}}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/Contact", json=body, headers={"Authorization": account.token}, timeout=0.2)
    stored = state.objects(account.account_id, "Contact")
    assert [row["name"] for row in stored] == ["Committed GmbH"]
    found = httpx.get(f"{server.url}/Contact", params={"name": "Committed"}, headers={"Authorization": account.token})
    assert [row["id"] for row in found.json()["objects"]] == [stored[0]["id"]]


@pytest.mark.parametrize("body", ["envelope", "html"])
def test_status_after_commit(
    client: httpx.Client, state: SandboxState, account: Account, body: Literal["envelope", "html"]
) -> None:
    state.add_fault(Fault(kind="status_after_commit", status=502, method="POST", path_pattern="^/Contact$", body=body))
    response = client.post("/Contact", json={"name": "Committed GmbH", "category": {"id": 3, "objectName": "Category"}})

    assert response.status_code == 502
    if body == "html":
        assert response.headers["content-type"].startswith("text/html")
    else:
        assert error_of(response)["responseCode"] == 502
    [stored] = state.objects(account.account_id, "Contact")  # the write went through all the same
    assert stored["name"] == "Committed GmbH"
    [logged] = [r for r in state.requests(account.account_id) if r.method == "POST"]
    assert (logged.path, logged.status) == ("/Contact", 502)  # what the client saw
    create_contact(client)  # times=1: used up


def test_status_after_commit_through_the_admin_api(admin: httpx.Client, client: httpx.Client) -> None:
    created = admin.post(
        "/faults", json={"kind": "status_after_commit", "status": 503, "method": "PUT", "path_pattern": "^/Contact/"}
    )
    assert created.status_code == 201
    [listed] = admin.get("/faults").json()
    assert (listed["kind"], listed["status"], listed["times"]) == ("status_after_commit", 503, 1)
    contact = create_contact(client)

    assert client.put(f"/Contact/{contact['id']}", json={"name": "Renamed GmbH"}).status_code == 503
    assert client.get(f"/Contact/{contact['id']}").json()["objects"][0]["name"] == "Renamed GmbH"


def test_bad_fault_definitions() -> None:
    with pytest.raises(ValueError):
        Fault.from_json({"kind": "explode"})
    with pytest.raises(ValueError):
        Fault.from_json({"kind": "status", "path_pattern": "("})


# --- probability, connection drops, fault sets -----------------------------------------------------


def _contact_body(name: str = "Committed GmbH") -> dict[str, object]:
    return {"name": name, "category": {"id": 3, "objectName": "Category"}}


def test_probability_hits_that_share_reproducibly_with_a_seed(client: httpx.Client, state: SandboxState) -> None:
    def run() -> list[int]:
        state.clear_faults()
        state.add_fault(Fault(kind="status", status=500, probability=0.25, seed=42, times=None))
        codes = [client.get("/SevUser").status_code for _ in range(200)]
        [fault] = state.faults()
        assert fault.hits == codes.count(500)
        return codes

    first = run()
    assert 30 <= first.count(500) <= 70  # 25 % of 200, loosely
    assert set(first) == {200, 500}
    assert run() == first  # same seed, same requests: the same ones are hit


def test_probability_fault_is_unlimited_by_default_through_the_admin_api(admin: httpx.Client) -> None:
    assert admin.post("/faults", json={"kind": "status", "probability": 0.1}).status_code == 201
    [listed] = admin.get("/faults").json()
    assert (listed["probability"], listed["times"], listed["hits"]) == (0.1, None, 0)
    assert admin.post("/faults", json={"kind": "status", "probability": 0}).status_code == 400
    assert admin.post("/faults", json={"kind": "status", "probability": 1.5}).status_code == 400


def test_drop_after_commit_closes_the_connection_at_once(
    server: SandboxServer, state: SandboxState, account: Account
) -> None:
    state.add_fault(Fault(kind="drop_after_commit", method="POST", path_pattern="^/Contact$"))
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{server.url}/Contact", json=_contact_body(), headers={"Authorization": account.token}, timeout=5)
    assert time.monotonic() - started < 2  # no waiting for a timeout
    [stored] = state.objects(account.account_id, "Contact")  # committed all the same
    assert stored["name"] == "Committed GmbH"
    [logged] = state.requests(account.account_id)
    assert (logged.status, logged.fault) == (201, "drop_after_commit")


def test_drop_does_nothing_and_answers_nothing(server: SandboxServer, state: SandboxState, account: Account) -> None:
    state.add_fault(Fault(kind="drop", method="POST"))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{server.url}/Contact", json=_contact_body(), headers={"Authorization": account.token}, timeout=5)
    assert state.objects(account.account_id, "Contact") == []
    [logged] = state.requests(account.account_id)
    assert (logged.status, logged.fault) == (0, "drop")


def test_a_fault_set_per_account_added_and_cleared_through_the_admin_api(
    server: SandboxServer, admin: httpx.Client, state: SandboxState, account: Account
) -> None:
    other = state.create_account(name="Other")
    faults = [
        {"kind": "status", "status": 500, "probability": 1, "account_id": account.account_id},
        {"kind": "rate_limit", "retry_after": 0, "account_id": account.account_id, "times": 3},
        {"kind": "status", "status": 502, "account_id": other.account_id, "times": None},
    ]
    created = admin.post("/faults", json={"faults": faults})
    assert created.status_code == 201 and len(created.json()["fault_ids"]) == 3
    assert len(admin.get("/faults", params={"account_id": account.account_id}).json()) == 2

    assert admin.delete("/faults", params={"account_id": account.account_id}).status_code == 204
    assert [f["account_id"] for f in admin.get("/faults").json()] == [other.account_id]
    assert httpx.get(f"{server.url}/Contact", headers={"Authorization": account.token}).status_code == 200
    assert httpx.get(f"{server.url}/Contact", headers={"Authorization": other.token}).status_code == 502
    # A bad entry adds none of the set.
    bad = admin.post("/faults", json={"faults": [{"kind": "status"}, {"kind": "explode"}]})
    assert bad.status_code == 400 and len(admin.get("/faults").json()) == 1


def test_request_log_names_the_fault_that_hit(client: httpx.Client, state: SandboxState, account: Account) -> None:
    state.add_fault(Fault(kind="rate_limit", retry_after=0))
    assert client.get("/Contact").status_code == 429
    assert client.get("/Contact").status_code == 200
    assert [(r.status, r.fault) for r in state.requests(account.account_id)] == [(429, "rate_limit"), (200, None)]
