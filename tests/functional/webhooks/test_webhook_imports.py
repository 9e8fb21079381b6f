"""The import worker tells the platform (M5, C3), through the real handlers: scheduler tick → import
queue → import worker → outbox (in the run's final transaction) → webhook queue → dispatcher → a
receiver on 127.0.0.1 that verifies every delivery with standardwebhooks, in simulated time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from sevdesk_sandbox.clock import iso
from sevdesk_sandbox.faults import Fault
from sevdesk_sandbox.generate import generate
from tests.functional.webhooks.conftest import register, tick
from tests.support.api_client import HandlerApiClient
from tests.support.receiver import FakeClock, Received, Receiver, verify_at
from tests.support.worker import drain_until_empty, make_retries_immediate

pytestmark = pytest.mark.functional
TENANT = "crm-7"
IMPORT_TYPES = ["import.completed", "import.failed", "changes.available"]


@pytest.fixture
def imports(aws: Any, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    """A failed import step comes back at once (deployed: after 1, 2, 4… minutes); the sevDesk client's
    error brake (a sliding window in real time) travels in simulated time too, so 15 minutes between
    ticks are 15 minutes for it as well."""
    from sevbridge.adapters.sevdesk.brake import default_brake

    make_retries_immediate(aws, "ImportQueue")
    monkeypatch.setattr("sevbridge.domain.pull.runner.RETRY_DELAY_SECONDS", 0)
    monkeypatch.setattr("sevbridge.domain.pull.runner.MAX_RETRY_DELAY_SECONDS", 0)
    monkeypatch.setattr(default_brake, "_clock", lambda: clock.now().timestamp())


def run_imports(aws: Any) -> None:
    drain_until_empty(aws, "ImportQueue")  # retries are immediate here: empty means done


def dispatch(aws: Any) -> None:
    drain_until_empty(aws, "WebhookQueue")


def connect(api: HandlerApiClient, token: str, **settings: Any) -> None:
    body = {"sevdesk_token": token, "settings": {"import_kinds": ["contacts"], **settings}}
    result = api.put(f"/v1/tenants/{TENANT}/connection", json_body=body)
    assert result.status in (200, 201), result.body


def import_now(api: HandlerApiClient, aws: Any) -> dict[str, Any]:
    started = api.post(f"/v1/tenants/{TENANT}/imports", json_body={"kinds": ["contacts"]})
    assert started.status == 202, started.body
    run_imports(aws)
    run = api.get(f"/v1/tenants/{TENANT}/imports/{started.json['run_id']}").json
    assert isinstance(run, dict)
    return run


def verified(secret: str, received: list[Received], type_: str) -> list[dict[str, Any]]:
    """The payloads of that type, each verified as a receiver would (raises if a signature is wrong)."""
    return [verify_at(secret, r) for r in received if r.type == type_]


def test_an_import_with_changes_sends_completed_and_changes_available_once(
    api: HandlerApiClient, aws: Any, clock: FakeClock, imports: None, receiver: Receiver, sandbox_state: Any
) -> None:
    account = sandbox_state.create_account(name="CRM GmbH")
    secret = register(api, receiver.url, event_types=IMPORT_TYPES)["secret"]
    connect(api, account.token)
    generate(sandbox_state, account.account_id, contacts=3, seed=7, backdate=True)

    first = import_now(api, aws)
    assert first["state"] == "succeeded" and first["counts"]["created"] == 3, first
    dispatch(aws)
    (completed,) = verified(secret, receiver.requests, "import.completed")
    (available,) = verified(secret, receiver.requests, "changes.available")
    assert completed["tenant_id"] == TENANT
    assert completed["data"]["import_id"] == first["run_id"] and completed["data"]["changes"] == 3
    assert completed["data"]["kinds"]["contacts"]["created"] == 3
    assert available["data"]["count"] == 3 and available["data"]["kinds"] == {"contacts": 3}
    feed = api.get(f"/v1/tenants/{TENANT}/changes", query={"after": available["data"]["cursor"]}).json
    assert len(feed["items"]) == 3 and {c["run_id"] for c in feed["items"]} == {first["run_id"]}

    # Nothing changed in sevDesk: nothing to tell (the tenant did not ask for quiet imports)...
    receiver.requests.clear()
    clock.advance(timedelta(minutes=1))
    assert import_now(api, aws)["counts"]["created"] == 0
    dispatch(aws)
    assert receiver.requests == []

    # ...an edit in sevDesk: the new cursor reads exactly that change, not the first import's again.
    contact = sandbox_state.objects(account.account_id, "Contact")[0]
    later = iso(sandbox_state.now() + timedelta(minutes=1))
    sandbox_state.change(account.account_id, "Contact", contact["id"], {"description": "VIP"}, update=later)
    clock.advance(timedelta(minutes=1))
    edited = import_now(api, aws)
    dispatch(aws)
    (available,) = verified(secret, receiver.requests, "changes.available")
    feed = api.get(f"/v1/tenants/{TENANT}/changes", query={"after": available["data"]["cursor"]}).json
    assert [(c["sevdesk_id"], c["action"], c["run_id"]) for c in feed["items"]] == [
        (contact["id"], "updated", edited["run_id"])
    ]
    assert [r.type for r in receiver.requests].count("import.completed") == 1

    # A tenant that wants every import reported gets quiet ones too (and no changes.available).
    receiver.requests.clear()
    connect(api, account.token, webhook_unchanged_imports=True)
    clock.advance(timedelta(minutes=1))
    quiet = import_now(api, aws)
    dispatch(aws)
    (completed,) = verified(secret, receiver.requests, "import.completed")
    assert completed["data"]["import_id"] == quiet["run_id"] and completed["data"]["changes"] == 0
    assert [r.type for r in receiver.requests] == ["import.completed"]


def test_an_import_failing_every_tick_for_3_days_notifies_exactly_3_times(
    api: HandlerApiClient, aws: Any, clock: FakeClock, imports: None, receiver: Receiver, sandbox_state: Any
) -> None:
    """Every 3 hours here (a tenant's `import_interval_minutes` of 180 and a tick as often): 24 failing
    runs through the real handlers, every one of them refused, and the notices on exactly the runs 24 and
    48 hours after the first (checked: a window of 21 hours notifies a fourth time, one of 25 hours or
    more notifies later). A tick costs half a second of moto calls (every schedule shard is queried), so 72 hourly
    ticks took a minute, near the test timeout on a busy machine; the domain-level test
    (test_webhook_import_rules.py) runs all 288 15-minute ticks of the three days."""
    account = sandbox_state.create_account(name="Refused GmbH")
    secret = register(api, receiver.url, event_types=IMPORT_TYPES)["secret"]
    connect(api, account.token, import_interval_minutes=180)
    # sevDesk refuses the contact list on every call, for three days.
    sandbox_state.add_fault(
        Fault("status", account_id=account.account_id, path_pattern="^/Contact", status=400, times=None)
    )
    start = clock.now()
    for _ in range(3 * 24 // 3):  # every tick, 72 hours
        assert tick()["scheduled"] == 1
        run_imports(aws)
        dispatch(aws)
        clock.advance(timedelta(hours=3))

    failed = verified(secret, receiver.requests, "import.failed")
    assert [r.type for r in receiver.requests] == ["import.failed"] * 3
    sent = [datetime.fromisoformat(p["timestamp"]) - start for p in failed]
    assert sent == [timedelta(0), timedelta(hours=24), timedelta(hours=48)]
    assert {p["data"]["cause"] for p in failed} == {"sevdesk_refused"}
    assert {p["data"]["retryable"] for p in failed} == {False}
    assert "400" in failed[0]["data"]["message"]
    # Every tick's run failed and says why, notified or not.
    runs = api.get(f"/v1/tenants/{TENANT}/imports", query={"limit": "100"}).json["items"]
    assert len(runs) == 24 and {r["state"] for r in runs} == {"failed"}
    assert all("HTTP 400" in r["error"] for r in runs)


def test_a_sevdesk_outage_fails_an_import_once_it_gave_up_and_tells_the_cause(
    api: HandlerApiClient, aws: Any, clock: FakeClock, imports: None, receiver: Receiver, sandbox_state: Any
) -> None:
    account = sandbox_state.create_account(name="Outage GmbH")
    secret = register(api, receiver.url, event_types=IMPORT_TYPES)["secret"]
    connect(api, account.token)
    sandbox_state.add_fault(Fault("status", account_id=account.account_id, status=503, times=None))

    run = import_now(api, aws)  # five deliveries, each retried by the client, then it gives up
    dispatch(aws)
    assert run["state"] == "failed" and run["error"].startswith("gave up after 5 attempts"), run
    (failed,) = verified(secret, receiver.requests, "import.failed")
    assert failed["data"]["cause"] == "sevdesk_unavailable" and failed["data"]["retryable"] is True
    assert failed["data"]["import_id"] == run["run_id"]


def test_a_401_during_an_import_tells_reconnect_required_once_and_keeps_the_schedule(
    api: HandlerApiClient, aws: Any, clock: FakeClock, imports: None, receiver: Receiver, sandbox_state: Any
) -> None:
    account = sandbox_state.create_account(name="Rotated GmbH")
    secret = register(
        api, receiver.url, event_types=[*IMPORT_TYPES, "connection.reconnect_required", "connection.restored"]
    )["secret"]
    connect(api, account.token)
    assert tick()["scheduled"] == 1  # claims the tenant: its next import is due in 15 minutes
    due = connection_item(aws)["import_due"]
    sandbox_state.rotate_token(account.account_id)  # someone saved the user in sevDesk (C3)

    run_imports(aws)
    for _ in range(3):  # more imports hit the same dead token: still one notice
        clock.advance(timedelta(minutes=1))
        assert api.post(f"/v1/tenants/{TENANT}/imports", json_body={}).status == 409
    dispatch(aws)
    (notice,) = verified(secret, receiver.requests, "connection.reconnect_required")
    assert [r.type for r in receiver.requests] == ["connection.reconnect_required"]
    assert notice["tenant_id"] == TENANT
    runs = api.get(f"/v1/tenants/{TENANT}/imports").json["items"]
    assert [r["state"] for r in runs] == ["waiting_for_credentials"]
    # The flip was written together with its notice, and kept the tick's due time (an update, not a put):
    item = connection_item(aws)
    assert item["status"] == "reconnect_required" and item["import_due"] == due
    assert "import_shard" not in item  # out of the sparse index until a new token arrives

    new_token = sandbox_state.account(account.account_id).token
    connect(api, new_token)
    run_imports(aws)
    dispatch(aws)
    assert api.get(f"/v1/tenants/{TENANT}/imports").json["items"][0]["state"] == "succeeded"
    assert [r.type for r in receiver.requests] == ["connection.reconnect_required", "connection.restored"]
    item = connection_item(aws)
    assert item["import_due"] == due and "import_shard" in item


def connection_item(aws: Any) -> dict[str, Any]:
    from sevbridge import wiring

    platform = next(p.platform_id for p in wiring.platform_store().list())
    item = boto3.client("dynamodb").get_item(
        TableName=aws.environment()["TENANTS_TABLE"],
        Key={"pk": {"S": f"T#{platform}#{TENANT}"}, "sk": {"S": "CONNECTION"}},
        ConsistentRead=True,
    )["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def test_a_run_whose_final_write_fails_leaves_no_notice_behind(
    api: HandlerApiClient, aws: Any, clock: FakeClock, imports: None, receiver: Receiver, sandbox_state: Any
) -> None:
    """The notices are part of the run's final transaction: if the run changed meanwhile (its condition
    fails), neither the states nor the deliveries are written."""
    from sevbridge import wiring
    from sevbridge.domain.errors import ConcurrentUpdate
    from sevbridge.domain.pull.runs import RunState

    account = sandbox_state.create_account(name="Race GmbH")
    register(api, receiver.url, event_types=IMPORT_TYPES)
    connect(api, account.token)
    generate(sandbox_state, account.account_id, contacts=2, seed=3, backdate=True)
    run = import_now(api, aws)
    store, platform = wiring.import_store(), next(p.platform_id for p in wiring.platform_store().list())
    stored = store.get_run(platform, TENANT, run["run_id"])
    assert stored is not None
    state = store.get_state(platform, TENANT)
    notices = wiring.notifier().import_failed(platform, TENANT, cause="internal_error", message="x", retryable=True)
    assert notices
    outdated = stored.model_copy(update={"revision": stored.revision - 1, "state": RunState.FAILED})
    before = deliveries_in_outbox(aws)
    with pytest.raises(ConcurrentUpdate):
        store.finish(outdated, state, notices)
    assert deliveries_in_outbox(aws) == before
    assert store.get_state(platform, TENANT).revision == state.revision
    assert store.get_run(platform, TENANT, run["run_id"]).state.value == "succeeded"  # type: ignore[union-attr]


def deliveries_in_outbox(aws: Any) -> int:
    items = boto3.client("dynamodb").scan(TableName=aws.environment()["OUTBOX_TABLE"])["Items"]
    return sum(1 for item in items if item["sk"]["S"].startswith("DLV#"))
