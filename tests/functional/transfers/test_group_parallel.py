"""The message groups (tenants) of one batch run side by side: a failure fails the rest of its own
group only, and another tenant's transfers in the same batch go through. (Lanes within one tenant's
records: test_lanes.py; here one lane per tenant, so each group runs in order in one thread.)"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest

from local_stack.lambda_context import LocalLambdaContext
from local_stack.pollers import sqs_event
from sevbridge import wiring
from sevbridge.workers import transfers as worker
from sevdesk_sandbox.faults import Fault
from tests.functional.conftest import load_function
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import source_for

pytestmark = pytest.mark.functional


def _post(api: HandlerApiClient, tenant: str, i: int) -> None:
    event: dict[str, Any] = json.loads(json.dumps(load_event("platform-invoice-upserted.json")))
    event["id"], event["data"]["source_id"], event["data"]["number"] = (
        f"{tenant}-e{i}",
        f"{tenant}-{i}",
        f"{tenant}-{i}",
    )
    assert api.post(f"/v1/tenants/{tenant}/events", json_body=event).status == 202


def _one_batch(aws: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every queued message in one event, the way the event source mapping batches a FIFO queue."""
    source = source_for(aws, "TransferQueue")
    messages: list[Any] = []
    for _ in range(5):
        messages += (
            boto3.client("sqs")
            .receive_message(QueueUrl=source.queue.url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
            .get("Messages", [])
        )
        if len(messages) >= 4:
            break
    event = sqs_event(messages, queue_arn=source.queue.arn, region=aws.region)
    context = LocalLambdaContext("transfer-worker", "arn:aws:lambda:::function:transfer-worker", 512, 120)
    return event, load_function("transfer_worker").lambda_handler(event, context)


def _transfers(api: HandlerApiClient, tenant: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/tenants/{tenant}/transfers").json["items"]
    return sorted(items, key=lambda t: t["transfer_id"])


def test_a_failing_tenant_holds_back_only_its_own_group(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSFER_LANES_PER_TENANT", "1")
    wiring.reset()
    other = sandbox_state.create_account(name="Andere Schule GmbH")
    body = {"sevdesk_token": other.token, "settings": {"unit_mapping": {"h": "Std"}}}
    assert api.put("/v1/tenants/school-43/connection", json_body=body).status == 201
    for i in (1, 2):
        _post(api, "school-42", i)
        _post(api, "school-43", i)
    # school-42's sevDesk refuses to save for now (503): its first transfer is retried later.
    sandbox_state.add_fault(
        Fault(kind="status", status=503, account_id=connected.account_id, path_pattern="^/Invoice/Factory", times=None)
    )
    threads: dict[str, set[str]] = {}
    handle = worker.handle_record

    def recording(record: Any) -> None:
        group = record.attributes.message_group_id or ""
        threads.setdefault(group, set()).add(threading.current_thread().name)
        handle(record)

    monkeypatch.setattr(worker, "handle_record", recording)

    event, result = _one_batch(aws)

    by_group: dict[str, list[str]] = {}
    for record in event["Records"]:
        by_group.setdefault(record["attributes"]["MessageGroupId"], []).append(record["messageId"])
    assert len(by_group) == 2 and all(len(ids) == 2 for ids in by_group.values())
    failing = next(g for g in by_group if "school-42" in g)
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == set(by_group[failing])
    first, second = _transfers(api, "school-42")
    assert (first["status"], first["attempts"]) == ("queued", 1)
    assert (second["status"], second["attempts"]) == ("queued", 0)  # never started: order is kept
    assert [t["status"] for t in _transfers(api, "school-43")] == ["transferred", "transferred"]
    # The two groups ran in two pool threads, each group's records in one thread, one after the other.
    assert len(threads) == 2 and all(len(names) == 1 for names in threads.values())
    assert threads[failing] != threads[next(g for g in by_group if g != failing)]
