"""A backfill document costs the same whatever the size of the job or the tenant: chunks read and write
by key only — no Query or Scan while chunks run (not of the tenant's partition, not of the job's items,
not of the transfers) — and the DynamoDB calls per document do not grow with the job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from benchmarks.aws_calls import AwsCalls, counting
from sevbridge.adapters import aws_clients
from tests.functional.backfills.conftest import BASE, invoice_line
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty, process_batches

pytestmark = pytest.mark.functional


def _backfill(
    api: HandlerApiClient, aws: Any, create_push: Callable[..., dict[str, Any]], numbers: range
) -> tuple[AwsCalls, int]:
    bf = create_push()["backfill_id"]
    lines = [invoice_line(n, customer=n % 3) for n in numbers]
    assert api.post(f"{BASE}/{bf}/items", json_body={"documents": lines}).status == 200
    assert api.post(f"{BASE}/{bf}/start").status == 202
    process_batches(aws, 1, "BackfillQueue")  # the split: its cost is per chunk, measured apart
    with counting(existing=(aws_clients.dynamodb(), aws_clients.sqs(), aws_clients.s3())) as calls:
        drain_until_empty(aws, "BackfillQueue")
    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed" and status["counters"]["done"] == len(numbers), status
    return calls, len(numbers)


def test_chunks_read_by_key_and_a_document_costs_the_same_in_a_bigger_job(
    api: HandlerApiClient, aws: Any, connected: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    _backfill(api, aws, create_push, range(1, 4))  # the customers exist from here on
    small, n_small = _backfill(api, aws, create_push, range(100, 120))
    big, n_big = _backfill(api, aws, create_push, range(200, 260))

    for calls in (small, big):
        assert calls.calls["dynamodb.Query"] == 0 and calls.calls["dynamodb.Scan"] == 0, dict(calls.calls)

    def per_document(calls: AwsCalls, n: int) -> float:
        return sum(v for k, v in calls.calls.items() if k.startswith("dynamodb.")) / n

    # Three times the documents, not more DynamoDB calls per document (per-chunk calls spread thinner).
    assert per_document(big, n_big) <= per_document(small, n_small) * 1.05, (dict(small.calls), dict(big.calls))


def test_a_chunk_reads_the_tenants_connection_once_not_per_document(
    api: HandlerApiClient, aws: Any, connected: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    _backfill(api, aws, create_push, range(1, 4))  # the customers exist from here on
    reads: list[str] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        reads.append(params["Key"]["sk"]["S"])

    client = aws_clients.dynamodb()
    client.meta.events.register("before-parameter-build.dynamodb.GetItem", note)
    try:
        _, n = _backfill(api, aws, create_push, range(300, 320))  # one chunk, run in lanes
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", note)
    # The chunk's transfers share one read of the connection (domain/connection_reuse.py) instead of one
    # each: 9 reads here (the api's requests, each chunk's intake and its transfers once), 27 before.
    assert n == 20 and reads.count("CONNECTION") <= 9, reads.count("CONNECTION")
