"""POST /v1/tenants/{tenant}/events: validation, idempotency, batches, P3 selection, I7 refusal.
Acceptance only (the worker is exercised in tests/functional/transfers)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import boto3
import pytest

from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import queue_depth

pytestmark = pytest.mark.functional

EVENTS = "/v1/tenants/school-42/events"


@pytest.fixture
def connected(api: HandlerApiClient, sevdesk_account: Any) -> Any:
    result = api.put("/v1/tenants/school-42/connection", json_body={"sevdesk_token": sevdesk_account.token})
    assert result.status == 201, result.body
    return sevdesk_account


def test_single_event_is_accepted_with_a_transfer_id_and_enqueued(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    result = api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))

    assert result.status == 202, result.body
    body = result.json
    assert body["accepted"] == 1
    transfer = body["results"][0]["transfers"][0]
    assert transfer["kind"] == "invoice"
    assert transfer["source_id"] == "inv-2026-020"
    assert transfer["status"] == "queued"
    assert transfer["transfer_id"].startswith("tr_")
    assert queue_depth(aws, "TransferQueue") == 1
    message = boto3.client("sqs").receive_message(
        QueueUrl=aws.environment()["TRANSFER_QUEUE_URL"], MessageSystemAttributeNames=["All"]
    )["Messages"][0]
    assert json.loads(message["Body"])["transfer_id"] == transfer["transfer_id"]
    assert message["Attributes"]["MessageGroupId"].endswith("#school-42")

    ledger = api.get(f"/v1/tenants/school-42/transfers/{transfer['transfer_id']}")
    assert ledger.status == 200
    assert ledger.json["status"] == "queued"
    assert ledger.json["history"][0]["note"] == "accepted"


def test_same_id_same_body_gets_the_same_answer_and_no_second_transfer(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    event = load_event("platform-invoice-upserted.json")
    first = api.post(EVENTS, json_body=event)
    second = api.post(EVENTS, json_body=event)

    assert second.status == 202
    assert second.json == first.json
    assert queue_depth(aws, "TransferQueue") == 1
    assert len(api.get("/v1/tenants/school-42/transfers").json["items"]) == 1


def test_same_id_different_body_is_a_conflict(api: HandlerApiClient, connected: Any) -> None:
    event = load_event("platform-invoice-upserted.json")
    api.post(EVENTS, json_body=event)
    changed = load_event("platform-invoice-upserted.json", data__title="Another title")

    result = api.post(EVENTS, json_body=changed)
    assert result.status == 409
    assert result.json["error"]["code"] == "conflict"
    assert result.json["error"]["details"][0]["field"] == "id"


def test_invalid_event_names_every_bad_field(api: HandlerApiClient, connected: Any) -> None:
    event = load_event("platform-invoice-upserted.json")
    event["data"]["positions"][0]["quantity"] = "-1"
    event["data"]["positions"][1]["unit_price"] = "cheap"
    event["data"]["customer"]["emails"] = ["not-an-email"]
    event["data"]["colour"] = "red"
    del event["data"]["invoice_date"]

    result = api.post(EVENTS, json_body=event)
    assert result.status == 422
    fields = {d["field"] for d in result.json["error"]["details"]}
    assert {
        "data.positions.0.quantity",
        "data.positions.1.unit_price",
        "data.customer.emails.0",
        "data.*",  # an unknown field is located, not named
        "data.invoice_date",
    } <= fields


def test_unknown_event_type_and_bad_envelope(api: HandlerApiClient, connected: Any) -> None:
    result = api.post(
        EVENTS, json_body={"id": "e1", "type": "order.shipped", "occurred_at": "2026-01-01T00:00:00Z", "data": {}}
    )
    assert result.status == 422
    assert result.json["error"]["details"][0]["field"] == "type"

    result = api.post(EVENTS, json_body={"type": "invoice.upserted", "data": {}})
    assert result.status == 422
    assert {"id", "occurred_at"} <= {d["field"] for d in result.json["error"]["details"]}

    assert api.post(EVENTS, raw_body="[1, 2").status == 400


def test_batch_accepts_valid_events_and_reports_invalid_ones(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    good = load_event("platform-invoice-upserted.json")
    bad = load_event("platform-invoice-upserted.json", id="evt-bad")
    bad["data"]["positions"] = []
    project = load_event("platform-project-completed.json")

    result = api.post(EVENTS, json_body={"events": [good, bad, project]})
    assert result.status == 202, result.body
    body = result.json
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert body["results"][1]["error"]["details"][0]["field"] == "data.positions"
    assert queue_depth(aws, "TransferQueue") == 2


def test_batch_limits(api: HandlerApiClient, connected: Any) -> None:
    assert api.post(EVENTS, json_body={"events": []}).status == 422
    too_many = [load_event("platform-invoice-upserted.json", id=f"e{i}") for i in range(101)]
    result = api.post(EVENTS, json_body={"events": too_many})
    assert result.status == 422
    assert result.json["error"]["details"][0]["field"] == "events"


def test_p3_contact_brings_its_current_year_sent_and_paid_invoices(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    event = load_event("platform-contact-upserted.json")
    year = date.today().year
    paid, old, draft = event["data"]["invoices"]
    paid["invoice_date"], paid["paid_at"], old["invoice_date"] = f"{year}-03-02", f"{year}-03-10", f"{year - 1}-12-15"
    draft["invoice_date"] = f"{year}-11-18"
    result = api.post(EVENTS, json_body=event)
    assert result.status == 202, result.body
    transfers = result.json["results"][0]["transfers"]
    by_source = {t["source_id"]: t for t in transfers}

    assert transfers[0]["kind"] == "contact"
    assert by_source["inv-2026-001"]["status"] == "queued"  # paid, this year
    assert by_source["inv-2025-117"]["status"] == "skipped"
    assert str(year - 1) in by_source["inv-2025-117"]["reason"]
    assert by_source["inv-2026-014"]["status"] == "skipped"
    assert "draft" in by_source["inv-2026-014"]["reason"]
    assert queue_depth(aws, "TransferQueue") == 2  # the contact, then its invoice


def test_project_without_done_appointment_is_refused(api: HandlerApiClient, connected: Any) -> None:
    event = load_event("platform-project-completed.json")
    for appointment in event["data"]["appointments"]:
        appointment["state"] = "planned"
    result = api.post(EVENTS, json_body=event)
    assert result.status == 422
    assert "done" in result.json["error"]["message"]


def test_events_for_unknown_or_disabled_tenant(api: HandlerApiClient, connected: Any) -> None:
    assert api.post("/v1/tenants/nobody/events", json_body=load_event("platform-invoice-upserted.json")).status == 404
    api.put("/v1/tenants/school-42/connection", json_body={"settings": {"enabled": False}})
    result = api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    assert result.status == 409
    assert "disabled" in result.json["error"]["message"]


def test_queue_outage_answers_503_and_a_retry_finishes_the_enqueue_once(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from sevbridge.adapters import aws_clients

    outage = {"left": 1}

    def fail_once(**_: Any) -> None:
        if outage["left"]:
            outage["left"] -= 1
            raise EndpointConnectionError(endpoint_url="https://sqs.eu-central-1.amazonaws.com")

    aws_clients.sqs().meta.events.register("before-call.sqs.SendMessageBatch", fail_once)
    event = load_event("platform-invoice-upserted.json")

    first = api.post(EVENTS, json_body=event)
    assert first.status == 503
    assert first.json["error"]["code"] == "temporarily_unavailable"
    assert "same ids" in first.json["error"]["message"]
    assert queue_depth(aws, "TransferQueue") == 0

    second = api.post(EVENTS, json_body=event)
    assert second.status == 202
    assert queue_depth(aws, "TransferQueue") == 1
    third = api.post(EVENTS, json_body=event)  # already enqueued: nothing is sent again
    assert third.json == second.json
    assert queue_depth(aws, "TransferQueue") == 1


def test_event_too_large_to_store_is_refused_not_a_500(api: HandlerApiClient, connected: Any) -> None:
    event = load_event("platform-invoice-upserted.json")
    position = event["data"]["positions"][0]
    event["data"]["positions"] = [{**position, "description": "x" * 4000} for _ in range(150)]  # ~640 KB
    result = api.post(EVENTS, json_body=event)
    assert result.status == 422, result.body
    assert result.json["error"]["code"] == "event_too_large"
    assert result.json["error"]["details"][0]["field"] == "data"


def test_more_bad_bodies_get_4xx(api: HandlerApiClient, connected: Any) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert api.post(EVENTS, raw_body=deep).status == 400
    assert api.put("/v1/tenants/school-42/connection", raw_body=deep).status == 400

    extra = api.post(EVENTS, json_body={"events": [load_event("platform-invoice-upserted.json")], "dry_run": True})
    assert extra.status == 422
    assert extra.json["error"]["details"][0] == {
        "field": "*",
        "problem": "is not a known field",
        "type": "extra_forbidden",
    }

    naive = load_event("platform-invoice-upserted.json", occurred_at="2026-11-21T14:00:00")
    result = api.post(EVENTS, json_body=naive)
    assert result.status == 422
    assert result.json["error"]["details"][0]["field"] == "occurred_at"

    malformed = api.put("/v1/tenants/school-42/connection", raw_body='{"sevdesk_token": ')
    assert malformed.status == 400
    assert malformed.json["error"]["details"][0]["field"] == "body"


def test_out_of_range_amounts_and_dates_get_422_naming_the_field(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    """Issue 6 §4: these used to be accepted and then failed (or silently booked nothing) later."""
    event = load_event("platform-invoice-upserted.json", data__status="paid", data__paid_amount="-100")
    event["data"]["invoice_date"] = "0001-01-01"
    result = api.post(EVENTS, json_body=event)

    assert result.status == 422, result.body
    details = {d["field"]: d["problem"] for d in result.json["error"]["details"]}
    assert set(details) == {"data.paid_amount", "data.invoice_date"}
    assert "2000-01-01" in details["data.invoice_date"] and "2099-12-31" in details["data.invoice_date"]
    assert queue_depth(aws, "TransferQueue") == 0
    assert api.get("/v1/tenants/school-42/transfers").json["items"] == []
