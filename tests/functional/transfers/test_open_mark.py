"""The low-water mark of a tenant's open transfers (adapters/dynamo_open_mark.py, docs/ledger.md): the
15-minute tick reads only the open tail of the ledger, yet never loses a transfer that is open.

The mark's clock is moved forward (time travel: transfers then look old), the rest is real — the tick's
Lambda handler, the API, moto's DynamoDB and SQS, the sevDesk sandbox."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from benchmarks.aws_calls import counting
from sevbridge import wiring
from sevbridge.adapters import aws_clients, dynamo_open_mark
from sevbridge.adapters.dynamo_open_mark import MARK_SK, WRITE_GAP, DynamoOpenMark, id_ms
from sevbridge.adapters.dynamo_platform_side import DynamoPlatformSide
from sevbridge.config import get_settings, reset_settings
from sevbridge.domain.ledger import Transfer, TransferStatus
from tests.functional.conftest import run_schedule_tick
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_items import transfer_items
from tests.support.ledger_seed import settled_copies, transfer_id_at
from tests.support.sent_messages import documents_stay_in_the_ledger
from tests.support.worker import drain, queue_depth

pytestmark = pytest.mark.functional
TENANT = "school-42"
EVENTS = f"/v1/tenants/{TENANT}/events"
TRANSFERS = f"/v1/tenants/{TENANT}/transfers"
HOUR = 3_600_000


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Moves the mark's clock `ms` ahead of the wall clock (transfer ids keep the real time)."""
    offset = [0]
    monkeypatch.setattr(dynamo_open_mark, "wall_ms", lambda: time.time_ns() // 1_000_000 + offset[0])

    def move(ms: int) -> None:
        offset[0] = ms

    return move


@pytest.fixture
def tick(monkeypatch: pytest.MonkeyPatch, aws: Any) -> Callable[[], dict[str, int]]:
    """The schedule tick's Lambda handler; every queued/sending transfer counts as stranded."""
    from sevbridge.workers import schedule

    monkeypatch.setattr(schedule, "STRANDED_AFTER", timedelta(0))
    monkeypatch.setattr(schedule, "STUCK_SENDING_AFTER", timedelta(0))
    return run_schedule_tick


@pytest.fixture(autouse=True)
def _documents_on_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """The open tail is made of transfer items. A live transfer whose message carries its document has
    none until that message comes back (test_stranded_messages.py): here every document is too big for
    its message, so intake stores it on the transfer's item, as it does for a backfill's transfers."""
    documents_stay_in_the_ledger(monkeypatch)


def platform_id() -> str:
    return wiring.connection_store().list_connections()[0].platform_id


def pk() -> str:
    return f"T#{platform_id()}#{TENANT}"


def mark_item(aws: Any) -> dict[str, Any]:
    key = {"pk": {"S": pk()}, "sk": {"S": MARK_SK}}
    item: dict[str, Any] = boto3.client("dynamodb").get_item(TableName=aws.environment()["LEDGER_TABLE"], Key=key)
    return item.get("Item", {})


def lose_messages(aws: Any) -> None:
    """Every message on the transfer queue is lost (SQS allows one PurgeQueue a minute: deleted instead)."""
    sqs, url = boto3.client("sqs"), aws.environment()["TRANSFER_QUEUE_URL"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def only_transfer(api: HandlerApiClient) -> Transfer:
    (item,) = api.get(TRANSFERS).json["items"]
    transfer = wiring.ledger().get(platform_id(), TENANT, item["transfer_id"])
    assert transfer is not None
    return transfer


def test_a_stranded_transfer_holds_the_mark_until_it_is_done(
    api: HandlerApiClient, connected: Any, aws: Any, later: Callable[[int], None], tick: Callable[[], dict[str, int]]
) -> None:
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    lose_messages(aws)  # the enqueue was lost and the platform did not retry
    stranded = only_transfer(api)

    later(HOUR)
    assert tick()["requeued"] == 1
    assert int(mark_item(aws)["mark"]["N"]) <= id_ms(stranded.transfer_id)
    lose_messages(aws)  # lost again
    later(2 * HOUR)  # the transfer is now far older than the pass's start − WRITE_GAP: still found
    assert tick()["requeued"] == 1
    assert int(mark_item(aws)["mark"]["N"]) <= id_ms(stranded.transfer_id)

    drain(aws)
    assert only_transfer(api).status is TransferStatus.TRANSFERRED
    later(3 * HOUR)
    assert tick()["requeued"] == 0
    assert int(mark_item(aws)["mark"]["N"]) > id_ms(stranded.transfer_id)  # settled: the mark moves past it


def test_an_old_failed_transfer_retried_whose_enqueue_fails_is_found_by_the_next_tick(
    api: HandlerApiClient,
    connected: Any,
    aws: Any,
    later: Callable[[int], None],
    tick: Callable[[], dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = load_event("platform-invoice-upserted.json")
    event["data"]["positions"][0]["unit"] = "Fass"  # not mapped: the transfer fails
    api.post(EVENTS, json_body=event)
    drain(aws)
    failed = only_transfer(api)
    assert failed.status is TransferStatus.FAILED
    later(HOUR)
    assert tick()["requeued"] == 0
    assert int(mark_item(aws)["mark"]["N"]) > id_ms(failed.transfer_id)  # settled history: passed

    # The retry writes the ledger, then its enqueue fails (the queue is unreachable).
    with transfer_queue_unreachable(aws, monkeypatch):
        assert api.post(f"{TRANSFERS}/{failed.transfer_id}/retry").status >= 500
    assert only_transfer(api).status is TransferStatus.QUEUED
    assert queue_depth(aws, "TransferQueue") == 0

    later(HOUR + 60_000)  # the next tick: the retry's hold puts the transfer back into what it reads
    assert tick()["requeued"] == 1
    lose_messages(aws)
    later(3 * HOUR)  # the hold is consumed by now; the transfer, still open, keeps the mark below it
    assert tick()["requeued"] == 1
    assert "holds" not in mark_item(aws)
    drain(aws)
    assert only_transfer(api).status is TransferStatus.FAILED  # the unit is still unknown: failed again


def test_an_event_completed_under_its_first_deliverys_ids_is_found_by_the_next_tick(
    api: HandlerApiClient,
    connected: Any,
    aws: Any,
    later: Callable[[int], None],
    tick: Callable[[], dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first delivery stops after the pointer (it names the event and its transfer id): DynamoDB
    # refuses the transfers' batch write.
    client = aws_clients.dynamodb()

    def refuse(**_: Any) -> None:
        raise RuntimeError("the process died after the pointer")

    client.meta.events.register_first("before-call.dynamodb.BatchWriteItem", refuse, unique_id="om-refuse")
    event = load_event("platform-invoice-upserted.json")
    assert api.post(EVENTS, json_body=event).status >= 500
    client.meta.events.unregister("before-call.dynamodb.BatchWriteItem", unique_id="om-refuse")
    # No transfer item (nothing the tick could re-send from); the listing shows the document's current
    # transfer from its pointer.
    assert [t["status"] for t in api.get(TRANSFERS).json["items"]] == ["queued"]
    assert transfer_items() == []
    later(HOUR)
    tick()  # the mark moves past the first delivery's transfer ids

    # The platform retries an hour later: the transfers are stored under the first delivery's (old) ids,
    # which its pointer names, and
    # this time the enqueue fails.
    with transfer_queue_unreachable(aws, monkeypatch):
        assert api.post(EVENTS, json_body=event).status >= 500
    assert only_transfer(api).status is TransferStatus.QUEUED

    later(HOUR + 60_000)
    assert tick()["requeued"] == 1
    drain(aws)
    assert only_transfer(api).status is TransferStatus.TRANSFERRED


@contextlib.contextmanager
def transfer_queue_unreachable(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside the block every enqueue fails (the ledger writes go through)."""
    queue_url = aws.environment()["TRANSFER_QUEUE_URL"]
    monkeypatch.setenv("TRANSFER_QUEUE_URL", queue_url + "-unreachable")
    reset_settings()
    wiring.reset()
    try:
        yield
    finally:
        monkeypatch.setenv("TRANSFER_QUEUE_URL", queue_url)
        reset_settings()
        wiring.reset()


def test_a_transfer_stored_after_a_pass_under_an_earlier_id_is_found_by_the_next_pass(
    api: HandlerApiClient, connected: Any, aws: Any, later: Callable[[int], None], tick: Callable[[], dict[str, int]]
) -> None:
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)
    template = only_transfer(api)
    # A slow writer created its transfer id five minutes before the pass and stores it after the pass.
    slow_id = transfer_id_at(time.time_ns() // 1_000_000, 7)
    later(5 * 60_000)
    assert tick()["requeued"] == 0
    late = template.model_copy(
        update={"transfer_id": slow_id, "source_id": "inv-late", "status": TransferStatus.QUEUED, "history": []}
    )
    wiring.ledger().record_transfers([late])  # its message is never sent (the writer died)

    later(6 * 60_000)
    assert tick()["requeued"] == 1
    drain(aws)
    transfer = wiring.ledger().get(platform_id(), TENANT, slow_id)
    assert transfer is not None and transfer.status is TransferStatus.TRANSFERRED


def test_the_items_a_tick_reads_do_not_grow_with_the_tenants_settled_history(
    api: HandlerApiClient, connected: Any, aws: Any, tick: Callable[[], dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sevbridge.workers import schedule

    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)
    template = only_transfer(api)
    three_days_ago = time.time_ns() // 1_000_000 - 72 * HOUR
    wiring.ledger().record_transfers(settled_copies(template, 60, created_ms=three_days_ago))
    # One open transfer, recent (its message is on its way: not stranded yet).
    monkeypatch.setattr(schedule, "STRANDED_AFTER", timedelta(minutes=30))
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json", id="evt-open", data__source_id="inv-2"))

    def items_read() -> int:
        with counting(existing=(aws_clients.dynamodb(),)) as calls:
            assert tick()["requeued"] == 0
        return calls.items_read

    def pending_versions() -> tuple[int, set[str]]:
        side = DynamoPlatformSide(get_settings().ledger_table, wiring.ledger(), platform_id(), TENANT)
        with counting(existing=(aws_clients.dynamodb(),)) as calls:
            pending = set(side.pending_contact_versions())
        return calls.items_read, pending

    without_mark = items_read()  # no mark yet: the whole 14-day window, transfers and their pointers
    assert without_mark >= 2 * 60
    small, (small_pending, pending) = items_read(), pending_versions()
    assert pending == {template.payload["customer"]["source_id"]}  # the open invoice's customer
    wiring.ledger().record_transfers(settled_copies(template, 600, created_ms=three_days_ago + 1000, prefix="older"))
    big, (big_pending, _) = items_read(), pending_versions()
    assert big == small < 20, (without_mark, small, big)
    # The import's pending platform versions read the open tail too, and every document's pointer (a
    # pending live transfer is marked there, with its customer): the 600 new documents, nothing else.
    assert big_pending - small_pending == 600 and small_pending < 20 + 61


def test_offboarding_erases_the_mark(
    api: HandlerApiClient, connected: Any, aws: Any, tick: Callable[[], dict[str, int]]
) -> None:
    event = load_event("platform-invoice-upserted.json")
    event["data"]["positions"][0]["unit"] = "Fass"
    api.post(EVENTS, json_body=event)
    drain(aws)
    tick()
    api.post(f"{TRANSFERS}/retry")  # a hold, too
    drain(aws)
    assert {"mark", "holds"} <= set(mark_item(aws))

    assert api.delete(f"/v1/tenants/{TENANT}").status == 200
    assert boto3.client("dynamodb").scan(TableName=aws.environment()["LEDGER_TABLE"])["Items"] == []


# --- the mark item on its own: passes racing re-opens and each other --------------------------------


@pytest.fixture
def marks(aws: Any) -> Iterator[tuple[DynamoOpenMark, list[int]]]:
    now = [time.time_ns() // 1_000_000]
    yield DynamoOpenMark(aws.environment()["LEDGER_TABLE"], now_ms=lambda: now[0]), now


def test_a_hold_placed_during_a_pass_survives_the_pass(marks: tuple[DynamoOpenMark, list[int]]) -> None:
    mark, now = marks
    old = transfer_id_at(now[0] - 5 * 24 * HOUR)
    first = mark.begin("T#p#t", timedelta(days=14))
    mark.advance(first, None)
    now[0] += 15 * 60_000
    racing = mark.begin("T#p#t", timedelta(days=14))  # a pass reads the old transfer as failed …
    mark.hold("T#p#t", [old])  # … a retry holds it and makes it queued …
    mark.advance(racing, None)  # … and the pass, which saw nothing open, moves the mark up
    now[0] += 15 * 60_000
    assert mark.begin("T#p#t", timedelta(days=14)).start_ms <= id_ms(old)  # the next pass reads it


def test_a_hold_is_consumed_only_by_a_pass_that_began_write_gap_after_it(
    marks: tuple[DynamoOpenMark, list[int]],
) -> None:
    mark, now = marks
    old = transfer_id_at(now[0] - 5 * 24 * HOUR)
    mark.hold("T#p#t", [old])
    gap = int(WRITE_GAP.total_seconds() * 1000)
    now[0] += gap - 1000  # its transfer may still be being written: the pass keeps the hold
    mark.advance(mark.begin("T#p#t", timedelta(days=14)), None)
    assert mark.begin("T#p#t", timedelta(days=14)).start_ms <= id_ms(old)
    now[0] += 2000
    mark.advance(mark.begin("T#p#t", timedelta(days=14)), None)
    assert mark.begin("T#p#t", timedelta(days=14)).start_ms == now[0] - gap


def test_a_pass_does_not_overwrite_a_mark_another_pass_moved_meanwhile(
    marks: tuple[DynamoOpenMark, list[int]],
) -> None:
    mark, now = marks
    mark.advance(mark.begin("T#p#t", timedelta(days=14)), None)
    now[0] += 15 * 60_000
    slow = mark.begin("T#p#t", timedelta(days=14))
    now[0] += 60_000
    fast = mark.begin("T#p#t", timedelta(days=14))
    open_id = transfer_id_at(now[0] - HOUR)
    mark.advance(fast, open_id)  # the later pass saw a transfer open an hour ago
    mark.advance(slow, None)  # the earlier pass finishes last: its raise is refused
    assert mark.begin("T#p#t", timedelta(days=14)).start_ms == id_ms(open_id)


def test_the_pending_versions_read_live_pointers_consistently(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    """The live pointers replace the open tail of items the pending versions read, which was consistent:
    an event accepted a moment ago must count as pending (an eventually consistent read may miss it)."""
    assert api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json")).status == 202
    queries: list[dict[str, Any]] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        queries.append(params)

    client = aws_clients.dynamodb()
    client.meta.events.register("provide-client-params.dynamodb.Query", seen)
    try:
        side = DynamoPlatformSide(get_settings().ledger_table, wiring.ledger(), platform_id(), TENANT)
        assert set(side.pending_contact_versions())  # the queued invoice's customer
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Query", seen)
    pointer_reads = [q for q in queries if q["ExpressionAttributeValues"].get(":doc") == {"S": "DOC#"}]
    assert pointer_reads and all(q.get("ConsistentRead") is True for q in pointer_reads), queries
