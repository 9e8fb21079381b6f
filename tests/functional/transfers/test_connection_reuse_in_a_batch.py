"""A transfer-worker batch reads its tenant's connection once and reuses it for a few seconds
(domain/connection_reuse.py). What must still reach the batch's remaining transfers at once: a token
stored meanwhile, a 401 (the rest parks without calling sevDesk), and an offboarding (nothing of the
tenant is pushed or left behind once its ledger rows are gone). Found by an independent review; each
test failed on the first version of the reuse."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.adapters.dynamo_connections import SK as CONNECTION_SK
from sevbridge.adapters.dynamo_eraser import DynamoTenantEraser
from sevbridge.config import get_settings, reset_settings
from sevbridge.domain.transfer_runner import TransferRunner
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"


def _invoices(prefix: str, first_number: int, n: int) -> list[dict[str, Any]]:
    return [
        load_event(
            "platform-invoice-upserted.json",
            id=f"evt-{prefix}-{i}",
            data__source_id=f"inv-{prefix}-{i}",
            data__number=f"PL-2026-{first_number + i}",
        )
        for i in range(n)
    ]


def _one_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LANES_PER_TENANT", "1")  # the batch's transfers one after the other
    reset_settings()


def test_a_token_stored_mid_batch_reaches_the_rest_of_the_batch(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_token = sandbox_state.rotate_token(connected.account_id)  # the stored token is rejected from now on
    assert api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json")).status == 202
    drain(aws)
    assert api.get("/v1/tenants/school-42/connection").json["status"] == "reconnect_required"
    assert api.post(EVENTS, json_body={"events": _invoices("rr", 900, 3)}).status == 202

    real_park = TransferRunner._park
    stored: list[bool] = []

    def park_then_new_token(self: TransferRunner, transfer: Any, note: str) -> Any:
        parked = real_park(self, transfer, note)
        if not stored:  # the platform stores a new token right after the batch's first park
            stored.append(True)
            assert api.put("/v1/tenants/school-42/connection", json_body={"sevdesk_token": new_token}).status == 200
        return parked

    monkeypatch.setattr(TransferRunner, "_park", park_then_new_token)
    _one_lane(monkeypatch)
    drain(aws)
    assert stored
    items = api.get("/v1/tenants/school-42/transfers").json["items"]
    assert sorted(t["status"] for t in items) == ["transferred"] * 4, [(t["source_id"], t["status"]) for t in items]


def test_after_a_401_the_rest_of_the_batch_parks_without_calling_sevdesk(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_state.rotate_token(connected.account_id)
    assert api.post(EVENTS, json_body={"events": _invoices("401", 970, 4)}).status == 202
    _one_lane(monkeypatch)
    before = len(sandbox_state.requests())  # a rejected token names no account: count every request
    drain(aws)
    statuses = [t["status"] for t in api.get("/v1/tenants/school-42/transfers").json["items"]]
    assert statuses == ["waiting_for_credentials"] * 4
    assert len(sandbox_state.requests()) - before == 1  # only the first transfer asked


def test_a_transfer_that_starts_after_offboarding_erased_its_ledger_pushes_nothing(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sevbridge.workers import transfers

    assert api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json")).status == 202
    drain(aws)  # the customer is known
    invoices_before = len(sandbox_state.objects(connected.account_id, "Invoice"))
    assert api.post(EVENTS, json_body={"events": _invoices("off", 950, 2)}).status == 202
    _one_lane(monkeypatch)
    settings = get_settings()
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    real_factory = transfers._push_factory
    started: list[bool] = []

    def offboarding_begins(time_left: Any) -> Any:
        def build(connection: Any, token: str) -> Any:
            if not started:  # during the batch's first push, offboarding gets as far as the ledger
                started.append(True)
                DynamoTenantEraser([settings.ledger_table], first=[(settings.tenants_table, CONNECTION_SK)]).erase(
                    platform_id, "school-42"
                )
            return real_factory(time_left)(connection, token)

        return build

    monkeypatch.setattr(transfers, "_push_factory", offboarding_begins)
    drain(aws)
    assert started
    numbers = [i.get("invoiceNumber") for i in sandbox_state.objects(connected.account_id, "Invoice")]
    # inv-off-0 was already being pushed; inv-off-1 started with the batch's reused connection after
    # its ledger rows were gone: it stops at its claim.
    assert "PL-2026-951" not in numbers
    assert len(numbers) <= invoices_before + 1
    left = boto3.client("dynamodb").scan(TableName=settings.tenants_table)["Items"]
    assert not [i["sk"]["S"] for i in left if "inv-off-1" in i["sk"]["S"]]


def test_offboarding_erases_the_connection_first_and_the_ledger_before_the_tenants_table(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    assert api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json")).status == 202
    drain(aws)
    settings = get_settings()
    order: list[str] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "DeleteItem":
            order.append(f"{params['TableName']}:{params['Key']['sk']['S']}")
        elif model.name == "BatchWriteItem":
            order.extend(params["RequestItems"])

    from sevbridge.adapters import aws_clients

    client = aws_clients.dynamodb()  # the process's one DynamoDB client, which the eraser uses
    client.meta.events.register("before-parameter-build.dynamodb", record)
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    try:
        assert wiring.tenant_eraser().erase(platform_id, "school-42") > 0
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", record)
    assert order[0] == f"{settings.tenants_table}:{CONNECTION_SK}"
    first_ledger = order.index(settings.ledger_table)
    assert settings.tenants_table in order[first_ledger:]
    assert settings.tenants_table not in order[1:first_ledger]
