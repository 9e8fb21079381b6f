"""Cancel, resume, retry-failed and a crash in the middle of a chunk (B1, B3): nothing is transferred
twice, nothing accepted is lost, the counters add up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sevbridge import wiring
from sevbridge.domain.backfill.ports import ChunkMessage
from tests.functional.backfills.conftest import BASE, TENANT, invoice_line
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty, process_batches

pytestmark = pytest.mark.functional


def _numbers(sandbox_state: Any, account: Any) -> list[str]:
    return sorted(i["invoiceNumber"] for i in sandbox_state.objects(account.account_id, "Invoice"))


def _started(api: HandlerApiClient, create_push: Callable[..., dict[str, Any]], lines: list[Any]) -> str:
    bf: str = create_push()["backfill_id"]
    assert api.post(f"{BASE}/{bf}/items", json_body={"documents": lines}).status == 200
    assert api.post(f"{BASE}/{bf}/start").status == 202
    return bf


def test_cancel_stops_after_the_chunk_in_flight_and_resume_finishes_without_duplicates(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    bf = _started(api, create_push, [invoice_line(n) for n in range(1, 31)])  # 3 chunks of 10
    process_batches(aws, 2, "BackfillQueue")  # the split, then the first chunk
    cancelled = api.post(f"{BASE}/{bf}/cancel")
    assert cancelled.status == 200 and cancelled.json["state"] == "cancelled"
    drain_until_empty(aws, "BackfillQueue")  # the other chunks are dropped

    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "cancelled" and status["outcome"] == "cancelled"
    assert status["counters"]["done"] == 10
    assert len(_numbers(sandbox_state, connected)) == 10

    resumed = api.post(f"{BASE}/{bf}/resume")
    assert resumed.status == 202, resumed.body
    drain_until_empty(aws, "BackfillQueue")
    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed", status
    assert status["counters"] == {"done": 30, "failed": 0, "skipped": 0, "invalid": 0, "filtered": 0}
    assert _numbers(sandbox_state, connected) == sorted(f"RE-{n:06d}" for n in range(1, 31))
    assert api.post(f"{BASE}/{bf}/resume").status == 409  # completed


def test_retry_failed_sends_only_the_failures_again(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    lines = [invoice_line(n) for n in range(1, 8)]
    lines[2] = invoice_line(3, unit="Palette")  # no such unit in sevDesk: fails, nothing half-created
    bf = _started(api, create_push, lines)
    drain_until_empty(aws, "BackfillQueue")
    status = api.get(f"{BASE}/{bf}").json
    assert status["outcome"] == "completed_with_failures"
    assert status["counters"]["failed"] == 1 and status["counters"]["done"] == 6
    failed = api.get(f"{BASE}/{bf}/items", query={"status": "failed"}).json["items"]
    assert [(f["line"], f["source_id"]) for f in failed] == [(3, "inv-3")]
    assert "Palette" in failed[0]["reason"] and failed[0]["transfer_id"]
    requests_before = len(sandbox_state.requests(connected.account_id))

    api.put(f"/v1/tenants/{TENANT}/connection", json_body={"settings": {"unit_mapping": {"Palette": "Stk"}}})
    assert api.post(f"{BASE}/{bf}/retry-failed").status == 202
    drain_until_empty(aws, "BackfillQueue")
    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed" and status["outcome"] == "completed"
    assert status["counters"] == {"done": 7, "failed": 0, "skipped": 0, "invalid": 0, "filtered": 0}
    assert api.get(f"{BASE}/{bf}/items", query={"status": "failed"}).json["items"] == []
    assert _numbers(sandbox_state, connected) == sorted(f"RE-{n:06d}" for n in range(1, 8))
    # The six transferred documents of that chunk were not sent again (one invoice costs ~5 calls).
    assert len(sandbox_state.requests(connected.account_id)) - requests_before < 12


def test_retry_failed_retries_the_failures_of_every_chunk_before_it_completes(
    api: HandlerApiClient,
    aws: Any,
    connected: Any,
    platform: Any,
    sandbox_state: Any,
    create_push: Callable[..., dict[str, Any]],
) -> None:
    """Failures in three chunks: the job finishes when all three were sent again, not after the first."""
    lines = [invoice_line(n, unit="Palette" if n in (5, 15, 25) else "Stk") for n in range(1, 31)]
    bf = _started(api, create_push, lines)
    drain_until_empty(aws, "BackfillQueue")
    assert api.get(f"{BASE}/{bf}").json["counters"]["failed"] == 3

    api.put(f"/v1/tenants/{TENANT}/connection", json_body={"settings": {"unit_mapping": {"Palette": "Stk"}}})
    assert api.post(f"{BASE}/{bf}/retry-failed").status == 202
    process_batches(aws, 1, "BackfillQueue")  # the first retried chunk: two more to go
    assert api.get(f"{BASE}/{bf}").json["state"] == "running"
    drain_until_empty(aws, "BackfillQueue")
    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed" and status["outcome"] == "completed", status
    assert status["counters"] == {"done": 30, "failed": 0, "skipped": 0, "invalid": 0, "filtered": 0}
    assert _numbers(sandbox_state, connected) == sorted(f"RE-{n:06d}" for n in range(1, 31))
    # A retry message delivered again after its chunk was recorded changes nothing.
    job = wiring.backfill_store().get(platform[0].platform_id, TENANT, bf)
    assert job is not None
    chunk = wiring.backfill_store().get_chunk(job.platform_id, TENANT, bf, 0)
    assert chunk is not None and chunk.generation == job.generation
    again = ChunkMessage(
        platform_id=job.platform_id,
        tenant_id=TENANT,
        job_id=bf,
        generation=job.generation,
        seq=0,
        key=chunk.key,
        start=chunk.start,
        end=chunk.end,
        first_line=chunk.first_line,
        retry_failed=True,
    )
    requests_before = len(sandbox_state.requests(connected.account_id))
    wiring.backfill_queue().send([again], dedup_ids=["retry-again"])
    drain_until_empty(aws, "BackfillQueue")
    assert api.get(f"{BASE}/{bf}").json["counters"]["done"] == 30
    assert len(sandbox_state.requests(connected.account_id)) == requests_before


def test_a_crash_in_the_middle_of_a_chunk_neither_loses_nor_duplicates(
    api: HandlerApiClient,
    aws: Any,
    connected: Any,
    sandbox_state: Any,
    create_push: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker dies after sevDesk created the 5th invoice but before the ledger recorded it."""
    from sevbridge.adapters.dynamo_ledger import DynamoLedgerStore

    original = DynamoLedgerStore.save
    transferred = {"n": 0}

    def dying_save(self: DynamoLedgerStore, transfer: Any, notices: Any = None, **kwargs: Any) -> Any:
        if transfer.status.value == "transferred":
            transferred["n"] += 1
            if transferred["n"] == 5:
                raise SystemExit("worker killed")  # not an Exception: nothing in our code handles it
        return original(self, transfer, notices, **kwargs)

    monkeypatch.setattr(DynamoLedgerStore, "save", dying_save)
    bf = _started(api, create_push, [invoice_line(n) for n in range(1, 31)])
    process_batches(aws, 1, "BackfillQueue")  # the split
    with pytest.raises(SystemExit):
        process_batches(aws, 1, "BackfillQueue")
    drain_until_empty(aws, "BackfillQueue")  # the chunk comes back (visibility 0 in tests) and goes on

    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed", status
    assert status["counters"]["done"] == 30
    assert _numbers(sandbox_state, connected) == sorted(f"RE-{n:06d}" for n in range(1, 31))


def test_a_split_short_of_time_hands_the_rest_to_a_new_message(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    """The split streams the objects; when its invocation runs short it sends what it has and continues
    in a new message from that byte offset (a 100 000-line file is never read in one go)."""
    from sevbridge import wiring
    from sevbridge.domain.backfill.ports import SplitMessage
    from sevbridge.workers import transfers
    from tests.support.worker import queue_depth

    job = create_push()
    bf = job["backfill_id"]
    api.post(f"{BASE}/{bf}/items", json_body={"documents": [invoice_line(n) for n in range(1, 13)]})
    api.post(f"{BASE}/{bf}/items", json_body={"documents": [invoice_line(n) for n in range(13, 21)]})
    api.post(f"{BASE}/{bf}/start")
    worker = wiring.backfill_worker(transfers.runner)
    split = SplitMessage.model_validate_json(_receive_split(aws))
    worker.process(split, time_left=lambda: 5.0)  # below the split's reserve: one chunk, then hand over
    assert queue_depth(aws, "BackfillQueue") == 2  # the first chunk and the rest of the split
    drain_until_empty(aws, "BackfillQueue")
    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed", status
    assert status["total"] == 20 and status["counters"]["done"] == 20
    assert len(_numbers(sandbox_state, connected)) == 20


def _receive_split(aws: Any) -> str:
    import boto3

    from tests.support.worker import source_for

    url = source_for(aws, "BackfillQueue").queue.url
    sqs = boto3.client("sqs")
    message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    body: str = message["Body"]
    return body
