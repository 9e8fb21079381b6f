"""The delivery log: filters, time ranges, paging, platform isolation, and offboarding (C5) removing a
tenant's deliveries and override with the rest of its data."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.functional.webhooks.conftest import DELIVERIES, ENDPOINTS, deliveries, dispatch, register
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.receiver import FakeClock, Receiver
from tests.support.worker import drain

pytestmark = pytest.mark.functional


def test_filters_time_ranges_and_paging(api: HandlerApiClient, aws: Any, clock: FakeClock, receiver: Receiver) -> None:
    first = register(api, receiver.url)["endpoint_id"]
    second = register(api, receiver.url)["endpoint_id"]
    start = clock.now()
    ids = []
    for endpoint_id in (first, first, second, first, second):
        ids.append(api.post(f"{ENDPOINTS}/{endpoint_id}/test").json["delivery_id"])
        clock.advance(timedelta(minutes=1))
    dispatch(aws)

    assert [d["delivery_id"] for d in deliveries(api)] == ids[::-1]  # newest first
    assert [d["delivery_id"] for d in deliveries(api, endpoint_id=second)] == [ids[4], ids[2]]
    window = {"since": (start + timedelta(minutes=1)).isoformat(), "until": (start + timedelta(minutes=3)).isoformat()}
    assert [d["delivery_id"] for d in deliveries(api, **window)] == [ids[2], ids[1]]
    assert deliveries(api, type="transfer.failed") == []
    assert len(deliveries(api, status="succeeded", type="webhook.test")) == 5

    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get(DELIVERIES, query=query).json
        seen += [d["delivery_id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    bad = api.get(DELIVERIES, query={"cursor": "not-a-cursor"})
    assert bad.status == 422 and bad.json["error"]["details"][0]["field"] == "query.cursor"
    assert api.get(DELIVERIES, query={"status": "lost"}).status == 422
    assert api.get(f"{DELIVERIES}/dlv_0000000000000000000000").status == 404


def test_another_platform_sees_none_of_it(
    api: HandlerApiClient, api_handler: Any, aws: Any, loopback: None, receiver: Receiver
) -> None:
    from sevbridge import wiring
    from sevbridge.domain.platforms import create_platform

    endpoint_id = register(api, receiver.url)["endpoint_id"]
    delivery_id = api.post(f"{ENDPOINTS}/{endpoint_id}/test").json["delivery_id"]
    _, key = create_platform(wiring.platform_store(), wiring.clock(), "Other")
    other = HandlerApiClient(api_handler, api_key=key)
    assert other.get(DELIVERIES).json["items"] == []
    assert other.get(f"{DELIVERIES}/{delivery_id}").status == 404
    assert other.post(f"{DELIVERIES}/{delivery_id}/replay").status == 404


def test_offboarding_deletes_the_tenants_deliveries_and_override(
    api: HandlerApiClient,
    aws: Any,
    loopback: None,
    receiver: Receiver,
    sevdesk_account: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    register(api, receiver.url)
    put = api.put(
        "/v1/tenants/school-42/connection",
        json_body={"sevdesk_token": sevdesk_account.token, "settings": {"webhook_url": receiver.url}},
    )
    tenant_secret = put.json["webhook_secret"]
    api.post("/v1/tenants/school-42/events", json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)
    dispatch(aws)
    assert len(deliveries(api, tenant_id="school-42")) == 1
    captured = capfd.readouterr()
    assert tenant_secret not in captured.out + captured.err + caplog.text

    assert api.delete("/v1/tenants/school-42").status == 200
    assert deliveries(api, tenant_id="school-42") == [] and deliveries(api) == []
    table = aws.environment()["OUTBOX_TABLE"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert [i for i in items if i["pk"]["S"].startswith("T#")] == []  # only the platform's endpoint is left
    assert [i["sk"]["S"].split("#")[0] for i in items] == ["ENDPOINT"]
