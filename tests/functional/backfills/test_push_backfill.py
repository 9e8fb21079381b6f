"""Push backfills (B1) end to end on moto + the sandbox: the API creates and starts, the real backfill
function handles the queue's messages, the sandbox shows what reached sevDesk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.functional.backfills.conftest import BASE, invoice_line, ndjson
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty

pytestmark = pytest.mark.functional


def _run(aws: Any) -> None:
    drain_until_empty(aws, "BackfillQueue", max_batches=2000)


def test_inline_pages_are_transferred_once_with_invalid_lines_reported_per_line(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    job = create_push()
    bf = job["backfill_id"]
    assert job["state"] == "created"
    page1 = [invoice_line(n) for n in range(1, 21)]
    bad = invoice_line(21)
    bad["data"]["positions"][0]["quantity"] = "-1"
    page2 = [bad, {"occurred_at": "2024-03-02T10:00:00+00:00"}, invoice_line(22)]
    for page in (page1, page2):
        result = api.post(f"{BASE}/{bf}/items", json_body={"documents": page})
        assert result.status == 200, result.body
    started = api.post(f"{BASE}/{bf}/start")
    assert started.status == 202, started.body
    _run(aws)

    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed", status
    assert status["outcome"] == "completed_with_failures"
    assert status["total"] == 23
    assert status["counters"] == {"done": 21, "failed": 0, "skipped": 0, "invalid": 2, "filtered": 0}
    assert status["eta_seconds"] == 0
    invoices = sandbox_state.objects(connected.account_id, "Invoice")
    assert sorted(i["invoiceNumber"] for i in invoices) == sorted(f"RE-{n:06d}" for n in [*range(1, 21), 22])

    invalid = api.get(f"{BASE}/{bf}/items", query={"status": "invalid"}).json["items"]
    assert [(i["line"], i["field"]) for i in invalid] == [(21, "data.positions.0.quantity"), (22, "data")]
    assert invalid[0]["source_id"] == "inv-21"


def test_the_same_documents_again_are_skipped_not_resent(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    lines = [invoice_line(n) for n in range(1, 6)]
    first = create_push()["backfill_id"]
    api.post(f"{BASE}/{first}/items", json_body={"documents": lines})
    api.post(f"{BASE}/{first}/start")
    _run(aws)
    requests_before = len(sandbox_state.requests(connected.account_id))

    newer = invoice_line(5, version="2024-04-01T10:00:00+00:00", status="paid")
    newer["data"]["paid_at"] = "2024-03-20"
    second = create_push()["backfill_id"]
    api.post(f"{BASE}/{second}/items", json_body={"documents": [*lines[:4], newer]})
    api.post(f"{BASE}/{second}/start")
    _run(aws)

    status = api.get(f"{BASE}/{second}").json
    assert status["counters"]["skipped"] == 4, status
    assert status["counters"]["done"] == 1
    skipped = api.get(f"{BASE}/{second}/items", query={"status": "skipped"}).json["items"]
    assert {i["source_id"] for i in skipped} == {"inv-1", "inv-2", "inv-3", "inv-4"}
    assert all(i["reason"] == "already transferred with this version" for i in skipped)
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 5
    # Only the newer version of inv-5 talked to sevDesk.
    assert len(sandbox_state.requests(connected.account_id)) - requests_before < 15


def test_filters_leave_out_what_they_exclude(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    job = create_push(filters={"since": "2024-01-01", "until": "2024-12-31", "statuses": ["sent"]})
    bf = job["backfill_id"]
    lines = [
        invoice_line(1, day="2023-12-31"),
        invoice_line(2, day="2024-06-01"),
        invoice_line(3, day="2025-01-01"),
        invoice_line(4, day="2024-06-01", status="draft"),
    ]
    api.post(f"{BASE}/{bf}/items", json_body={"documents": lines})
    api.post(f"{BASE}/{bf}/start")
    _run(aws)
    status = api.get(f"{BASE}/{bf}").json
    assert status["counters"] == {"done": 1, "failed": 0, "skipped": 0, "invalid": 0, "filtered": 3}
    assert [i["invoiceNumber"] for i in sandbox_state.objects(connected.account_id, "Invoice")] == ["RE-000002"]


def test_upload_through_the_presigned_url(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    job = create_push(source="upload")
    bf, url = job["backfill_id"], job["upload_url"]
    assert url and "X-Amz-Signature" in url
    early = api.post(f"{BASE}/{bf}/start")
    assert early.status == 409, early.body
    # In-process moto answers the URL (it intercepts `requests`); the local stack test PUTs over HTTP.
    response = requests.put(url, data=ndjson([invoice_line(n) for n in range(1, 26)]) + b"\n\n", timeout=10)
    assert response.status_code == 200, response.text
    assert api.post(f"{BASE}/{bf}/start").status == 202
    _run(aws)
    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed"
    assert status["total"] == 25 and status["counters"]["done"] == 25
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 25
