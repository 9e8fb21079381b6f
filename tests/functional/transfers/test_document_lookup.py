"""POST /v1/tenants/{id}/transfers/lookup: the status column for up to 100 documents in one request (I6),
read by key from the per-document pointers — never by querying the tenant's partition."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain, queue_depth

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
LOOKUP = "/v1/tenants/school-42/transfers/lookup"


def invoice(n: int, **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("id", f"evt-{n}")
    return load_event(
        "platform-invoice-upserted.json",
        data__source_id=f"inv-{n}",
        data__number=f"PL-2026-{n:03d}",
        **overrides,
    )


def test_lookup_answers_100_documents_in_one_request_by_key(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any
) -> None:
    from sevbridge.adapters import aws_clients

    assert api.post(EVENTS, json_body={"events": [invoice(1), invoice(2)]}).status == 202
    drain(aws)
    # inv-3: refused by sevDesk's rules (a unit with no mapping) → failed with a reason; inv-4: queued.
    bad = invoice(3)
    bad["data"]["positions"][0]["unit"] = "Fass"
    assert api.post(EVENTS, json_body=bad).status == 202
    drain(aws)
    assert api.post(EVENTS, json_body=invoice(4)).status == 202

    calls: list[str] = []
    client = aws_clients.dynamodb()

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb.*", record)
    try:
        documents = [{"kind": "invoice", "source_id": f"inv-{n}"} for n in range(1, 100)]
        documents.append({"kind": "contact", "source_id": "cust-2002"})
        result = api.post(LOOKUP, json_body={"documents": documents})
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", record)

    assert result.status == 200, result.body
    answers = result.json["documents"]
    assert [(a["kind"], a["source_id"]) for a in answers] == [(d["kind"], d["source_id"]) for d in documents]
    first, second, third, fourth = answers[:4]
    sandbox_numbers = {str(i["id"]): i["invoiceNumber"] for i in sandbox_state.objects(connected.account_id, "Invoice")}
    for answer in (first, second):
        assert answer["status"] == "transferred", answer
        assert sandbox_numbers[answer["sevdesk_id"]] == answer["sevdesk_number"]
        assert answer["transfer_id"].startswith("tr_")
    assert third["status"] == "failed", third
    assert "Fass" in third["reason"]
    assert fourth["status"] == "queued"
    assert all(a["status"] == "not_transferred" and a["transfer_id"] is None for a in answers[4:])
    # The customer went to sevDesk with the invoices, but no contact transfer was ever accepted for it:
    # the answer is about transfers of the document asked for (docs/ledger.md).
    # One read by key; no query of the tenant's partition (the connection check reads its own item).
    assert "Query" not in calls and "Scan" not in calls, calls
    assert calls.count("BatchGetItem") == 1, calls


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"documents": []}, "documents"),
        ({"documents": [{"kind": "invoice", "source_id": f"i{n}"} for n in range(101)]}, "documents"),
        ({"documents": [{"kind": "order", "source_id": "x"}]}, "documents.0.kind"),
        ({"documents": [{"kind": "invoice", "source_id": ""}]}, "documents.0.source_id"),
        ({"documents": [{"kind": "invoice", "source_id": "x", "secret": "s3cr3t"}]}, "documents.0.secret"),
    ],
)
def test_bad_lookup_is_a_422_naming_the_field(
    api: HandlerApiClient, connected: Any, body: dict[str, Any], field: str
) -> None:
    result = api.post(LOOKUP, json_body=body)
    assert result.status == 422, result.body
    assert field in {d["field"] for d in result.json["error"]["details"]}, result.json
    assert "s3cr3t" not in result.body


ENSURE = "/v1/tenants/school-42/transfers/ensure"


def test_ensure_queues_only_documents_not_transferred_with_that_version(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any
) -> None:
    assert api.post(EVENTS, json_body=invoice(1)).status == 202
    drain(aws)
    assert api.post(EVENTS, json_body=invoice(2)).status == 202  # queued, not yet run

    # The platform's "transfer everything not yet transferred" for a page of 3 invoices.
    page = [invoice(n, id=f"evt-ensure-{n}") for n in (1, 2, 3)]
    result = api.post(ENSURE, json_body={"events": page})
    assert result.status == 202, result.body
    body = result.json
    assert (body["accepted"], body["unchanged"], body["rejected"]) == (1, 2, 0)
    outcomes = [(r["status"], [d["outcome"] for d in r["documents"]]) for r in body["results"]]
    assert outcomes == [
        ("unchanged", ["already_transferred"]),
        ("unchanged", ["in_progress"]),
        ("accepted", ["new_transfer"]),
    ]
    assert body["results"][2]["transfers"][0]["transfer_id"] == body["results"][2]["documents"][0]["transfer_id"]
    drain(aws)
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 3
    saves = [r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"]
    assert len(saves) == 3  # inv-1 was not sent again

    # Everything there: 200, nothing recorded or queued. A newer version of inv-1 is a new transfer.
    again = api.post(ENSURE, json_body={"events": [invoice(n, id=f"evt-again-{n}") for n in (1, 2, 3)]})
    assert again.status == 200 and again.json["unchanged"] == 3, again.body
    newer = invoice(1, id="evt-newer", occurred_at="2026-11-22T09:00:00+01:00")
    assert api.post(ENSURE, json_body=newer).json["results"][0]["documents"][0]["outcome"] == "new_transfer"


def test_ensure_reports_bad_events_by_field(api: HandlerApiClient, connected: Any) -> None:
    bad = invoice(5)
    bad["data"]["positions"] = "not-a-list"
    result = api.post(ENSURE, json_body={"events": [bad]})
    assert result.status == 422, result.body
    assert result.json["error"]["details"][0]["field"] == "events.0.data.positions"
    assert "not-a-list" not in result.body


def test_intake_stopped_after_the_pointer_is_completed_by_the_platforms_retry(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any
) -> None:
    """The pointer (it carries the event id) and the message (it carries the document) are separate
    writes: if intake stops between them, the event was not answered 202, and its redelivery finds the
    event on the pointer and sends the transfer under the id the pointer names."""
    from botocore.exceptions import EndpointConnectionError

    from sevbridge.adapters import aws_clients

    outage = {"left": 1}

    def fail_once(**_: Any) -> None:
        if outage["left"]:
            outage["left"] -= 1
            raise EndpointConnectionError(endpoint_url="https://sqs.eu-central-1.amazonaws.com")

    client = aws_clients.sqs()
    client.meta.events.register("before-call.sqs.SendMessageBatch", fail_once)
    try:
        first = api.post(EVENTS, json_body=invoice(7))
    finally:
        client.meta.events.unregister("before-call.sqs.SendMessageBatch", fail_once)
    assert first.status >= 500, first.body
    lookup = {"documents": [{"kind": "invoice", "source_id": "inv-7"}]}
    named = api.post(LOOKUP, json_body=lookup).json["documents"][0]
    assert named["status"] == "queued"  # the pointer was written; its message was not sent
    assert queue_depth(aws, "TransferQueue") == 0
    # A document's current transfer reads from its pointer, item or not (its id names the document).
    shown = api.get(f"/v1/tenants/school-42/transfers/{named['transfer_id']}")
    assert (shown.status, shown.json["status"], shown.json["event_id"]) == (200, "queued", "evt-7")

    second = api.post(EVENTS, json_body=invoice(7))
    assert second.status == 202, second.body
    transfer_id = second.json["results"][0]["transfers"][0]["transfer_id"]
    assert transfer_id == named["transfer_id"]
    assert api.post(LOOKUP, json_body=lookup).json["documents"][0] == {
        **api.post(LOOKUP, json_body=lookup).json["documents"][0],
        "status": "queued",
        "transfer_id": transfer_id,
    }
    drain(aws)
    assert api.get(f"/v1/tenants/school-42/transfers/{transfer_id}").json["status"] == "transferred"
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1
