"""M5 scheduling: the sparse index of connections, due tenants enqueued once per interval, overlapping
and repeated ticks that never run a tenant twice, and a tick that reads no mapping or ledger rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from local_stack.provision import ProvisionedStack
from sevbridge import wiring
from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_import_schedule import DynamoImportSchedule
from sevbridge.adapters.sqs_import_queue import SqsImportQueue
from sevbridge.domain.pull.messages import ImportMessage
from sevbridge.domain.pull.scheduling import ImportScheduler, ScheduledTenant
from tests.support.api_client import HandlerApiClient
from tests.support.clock import MovableClock

pytestmark = pytest.mark.functional


def connect(api: HandlerApiClient, tenant: str, token: str, **settings: Any) -> None:
    body: dict[str, Any] = {"sevdesk_token": token}
    if settings:
        body["settings"] = settings
    result = api.put(f"/v1/tenants/{tenant}/connection", json_body=body)
    assert result.status in (200, 201), result.body


def queued(stack: ProvisionedStack) -> list[dict[str, Any]]:
    """Every message on the import queue (received and deleted: the test owns the queue)."""
    sqs = boto3.client("sqs")
    url = stack.environment()["IMPORT_QUEUE_URL"]
    found: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not got:
            return found
        for message in got:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def scheduler(clock: MovableClock, queue_url: str | None = None) -> ImportScheduler:
    env = wiring.import_scheduler()
    return ImportScheduler(
        schedule=env.schedule,
        queue=SqsImportQueue(queue_url) if queue_url else env.queue,
        clock=clock,
        time_scale=1.0,
    )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def tenants(api: HandlerApiClient, sevdesk_account: Any, aws: ProvisionedStack) -> list[str]:
    names = [f"t-{i:02d}" for i in range(13)]  # more than one batch of 10
    for name in names:
        connect(api, name, sevdesk_account.token)
    return names


def test_index_holds_only_connected_enabled_tenants(
    api: HandlerApiClient, sevdesk_account: Any, aws: ProvisionedStack, sandbox_state: Any
) -> None:
    connect(api, "on", sevdesk_account.token)
    connect(api, "off", sevdesk_account.token, enabled=False)
    connect(api, "rotated", sevdesk_account.token, import_kinds=[])
    schedule = DynamoImportSchedule(aws.tables["TenantsTable"])

    def listed() -> dict[str, ScheduledTenant]:
        return {t.tenant_id: t for shard in range(8) for t in schedule.tenants(shard)}

    assert set(listed()) == {"on", "rotated"}
    assert listed()["on"].kinds == ("contacts", "articles", "invoices") and listed()["on"].interval_minutes == 15
    assert listed()["rotated"].kinds == ()  # listed for upkeep, never enqueued
    # A rejected token takes the tenant out; a new token brings it back, due at once.
    sandbox_state.rotate_token(sevdesk_account.account_id)
    assert api.post("/v1/tenants/on/connection/test").json["connection"]["status"] == "reconnect_required"
    assert set(listed()) == {"rotated"}
    account = sandbox_state.account(sevdesk_account.account_id)
    connect(api, "on", account.token, import_interval_minutes=60)
    assert listed()["on"].interval_minutes == 60
    connect(api, "on", account.token, enabled=False)
    assert "on" not in listed()


def test_due_tenants_are_enqueued_once_per_interval(
    tenants: list[str], aws: ProvisionedStack, clock: MovableClock
) -> None:
    clock.advance(seconds=1)
    first = scheduler(clock).tick()
    assert (first.tenants, first.scheduled) == (13, 13)
    messages = queued(aws)
    assert len(messages) == 13
    bodies = [ImportMessage.model_validate_json(_with_dedup(m)) for m in messages]
    assert {b.tenant_id for b in bodies} == set(tenants) and {b.trigger for b in bodies} == {"schedule"}
    # One FIFO group per tenant, so one tenant's imports never run side by side.
    assert len({m["Attributes"]["MessageGroupId"] for m in messages}) == 13
    # Repeated tick, same moment or a little later: nobody is due.
    assert scheduler(clock).tick().scheduled == 0
    clock.advance(minutes=10)
    assert scheduler(clock).tick().scheduled == 0
    # One interval (15 minutes) after the first: due again.
    clock.advance(minutes=5)
    assert scheduler(clock).tick().scheduled == 13
    assert len(queued(aws)) == 13


def _with_dedup(message: dict[str, Any]) -> str:
    import json

    body = json.loads(message["Body"])
    body["dedup_id"] = message["Attributes"]["MessageDeduplicationId"]
    return json.dumps(body)


def test_overlapping_ticks_never_enqueue_a_tenant_twice(
    tenants: list[str], aws: ProvisionedStack, clock: MovableClock
) -> None:
    clock.advance(seconds=1)
    later = MovableClock(clock.now() + timedelta(seconds=30))
    inner_results = []

    def overlap(_: ScheduledTenant) -> None:
        # A second tick (e.g. EventBridge's retry) runs completely while the first is half-way.
        if not inner_results:
            inner_results.append(scheduler(later).tick())

    outer = scheduler(clock).tick(visit=overlap)
    assert (inner_results[0].scheduled, outer.scheduled) == (13, 0)
    # The first tick had already read one shard when the second ran: it lost those claims.
    assert outer.already_taken > 0
    assert len(queued(aws)) == 13


def test_a_failed_send_leaves_the_tenant_due(tenants: list[str], aws: ProvisionedStack, clock: MovableClock) -> None:
    clock.advance(seconds=1)
    gone = aws.environment()["IMPORT_QUEUE_URL"].replace("ImportQueue", "NoSuchQueue")
    failed = scheduler(clock, queue_url=gone).tick()
    assert (failed.scheduled, failed.not_sent) == (0, 13)
    assert scheduler(clock).tick().scheduled == 13


def test_tick_finds_tenants_without_reading_mapping_or_ledger_rows(
    tenants: list[str], aws: ProvisionedStack, clock: MovableClock
) -> None:
    # Rows that a table scan would have to read through: many items of every tenant (mapping rows lived
    # here before they moved onto the ledger's document items; any tenant item makes the point).
    table = aws.tables["TenantsTable"]
    ddb = boto3.client("dynamodb")
    for tenant in tenants:
        for i in range(20):
            ddb.put_item(TableName=table, Item={"pk": {"S": f"T#x#{tenant}"}, "sk": {"S": f"MAP#contact#{i}"}})
    calls: list[dict[str, Any]] = []
    client = aws_clients.dynamodb()
    client.meta.events.register("provide-client-params.dynamodb.*", _recorder(calls))
    clock.advance(seconds=1)
    assert scheduler(clock).tick().scheduled == 13
    operations = {c["operation"] for c in calls}
    assert operations <= {"Query", "UpdateItem"}, operations
    assert all(c["params"].get("IndexName") == "imports" for c in calls if c["operation"] == "Query")
    assert sum(c["operation"] == "Query" for c in calls) == 8  # one page per shard
    assert sum(c["operation"] == "UpdateItem" for c in calls) == 13


def _recorder(calls: list[dict[str, Any]]) -> Any:
    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append({"operation": model.name, "params": dict(params)})

    return record


def test_the_tick_through_the_handler(tenants: list[str], aws: ProvisionedStack) -> None:
    from tests.functional.conftest import load_function
    from tests.functional.test_sample_events import context, load

    result = load_function("import_scheduler").lambda_handler(load("schedule-import-tick.json"), context("is"))
    assert result == {"tenants": 13, "requeued": 0, "scheduled": 13}
    again = load_function("import_scheduler").lambda_handler(load("schedule-import-tick.json"), context("is"))
    assert again["scheduled"] == 0


@pytest.fixture(autouse=True)
def _no_leftover_hooks() -> Iterator[None]:
    yield
    aws_clients.reset()
