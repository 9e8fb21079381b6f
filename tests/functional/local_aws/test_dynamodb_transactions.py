"""DynamoDB transactions on the local stack's moto server keep AWS's guarantees (issue 11).

- Isolation: a transaction that fails never undoes a write someone else made meanwhile. (moto 5.2.5
  deep-copies every touched table and puts the copy back on failure; in sevbridge every replayed event
  id is such a failed transaction, and it rolled back the transfer worker's ledger writes.)
- Atomicity: a failed transaction leaves none of its own writes behind, whatever made it fail.
- Cost: a transaction does not slow down in proportion to the size of the table it touches.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from tests.functional.local_aws.conftest import REGION, client, create_table, on_both

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.functional
# The failing-transaction repro runs until this many transactions failed while the writers had this many
# writes acknowledged; the cap (seconds) only ends a run that can no longer finish.
FAILED_TRANSACTIONS = 20
WRITES_MEANWHILE = 40
SAFETY_CAP_SECONDS = 90


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def replayed_event(table: str) -> list[Any]:
    """The shape of an earlier intake's `record_event` for an event id already used: a receipt whose
    condition fails, plus the event's transfer rows (kept as a check of moto's transactions)."""
    return [
        {
            "Put": {
                "TableName": table,
                "Item": key("T#p#t", "EVENT#e-1"),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {"Put": {"TableName": table, "Item": {**key("T#p#t", "TRANSFER#replay"), "status": {"S": "queued"}}}},
    ]


def fill(table: str, count: int, *, pk: str = "T#p#filler") -> None:
    """Seeds the table through moto's backend in this process: 10 000 puts over HTTP would take the
    test most of its time without changing what is measured."""
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    for n in range(count):
        backend.put_item(table, {**key(pk, f"ITEM#{n:06d}"), "doc": {"S": "x" * 200}, "n": {"N": str(n)}})


def test_a_failing_transaction_loses_no_write_made_meanwhile(endpoint: str, dynamodb: DynamoDBClient) -> None:
    table = create_table(dynamodb)
    fill(table, 300)  # a table of some size: moto's copy-and-restore window grows with it
    dynamodb.put_item(TableName=table, Item=key("T#p#t", "EVENT#e-1"))
    writers = 3
    for number in range(writers):
        dynamodb.put_item(TableName=table, Item={**key("T#p#t", f"COUNTER#{number}"), "n": {"N": "0"}})

    stop = threading.Event()
    acknowledged: list[str] = []
    increments = [0] * writers
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        # Like transfer workers: new rows and updates of an existing row, each acknowledged by DynamoDB.
        ddb = client(endpoint, "dynamodb")
        try:
            while not stop.is_set():
                sk = f"TRANSFER#{number}-{increments[number]:05d}"
                ddb.put_item(TableName=table, Item={**key("T#p#t", sk), "status": {"S": "transferred"}})
                acknowledged.append(sk)
                ddb.update_item(
                    TableName=table,
                    Key=key("T#p#t", f"COUNTER#{number}"),
                    UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                increments[number] += 1
        except BaseException as exc:  # surfaced below; a dying thread must not pass silently
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    failed_transactions = 0
    # Count-driven, not timed: failing transactions go on until enough of them ran while the writers
    # had enough writes acknowledged, however slow the machine is; the cap only ends a stuck run.
    written_before = len(acknowledged)
    give_up_at = time.monotonic() + SAFETY_CAP_SECONDS
    try:
        while failed_transactions < FAILED_TRANSACTIONS or len(acknowledged) - written_before < WRITES_MEANWHILE:
            assert time.monotonic() < give_up_at, (failed_transactions, len(acknowledged) - written_before, errors)
            assert not errors, errors
            with pytest.raises(ClientError) as cancelled:
                dynamodb.transact_write_items(TransactItems=replayed_event(table))
            assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
            failed_transactions += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not errors, errors

    missing = [
        sk
        for sk in acknowledged
        if "Item" not in dynamodb.get_item(TableName=table, Key=key("T#p#t", sk), ConsistentRead=True)
    ]
    counters = [
        int(dynamodb.get_item(TableName=table, Key=key("T#p#t", f"COUNTER#{n}"), ConsistentRead=True)["Item"]["n"]["N"])
        for n in range(writers)
    ]
    assert missing == [], (
        f"{len(missing)} of {len(acknowledged)} acknowledged writes were undone by failed transactions"
    )
    assert counters == increments, "acknowledged increments were undone"
    replay = dynamodb.get_item(TableName=table, Key=key("T#p#t", "TRANSFER#replay"), ConsistentRead=True)
    assert "Item" not in replay, "a cancelled transaction left one of its own writes behind"


@on_both
def test_a_failed_transaction_leaves_none_of_its_writes_and_reports_each_reason(dynamodb: DynamoDBClient) -> None:
    table = create_table(dynamodb)
    dynamodb.put_item(TableName=table, Item={**key("a", "updated"), "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**key("a", "deleted"), "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**key("a", "exists"), "v": {"N": "1"}})
    before = _all_items(dynamodb, table)

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key("a", "new"), "v": {"N": "1"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("a", "updated"),
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": key("a", "deleted")}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": key("a", "exists"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _all_items(dynamodb, table) == before


@on_both
def test_a_transaction_failing_validation_halfway_is_undone(dynamodb: DynamoDBClient) -> None:
    table = create_table(dynamodb)
    dynamodb.put_item(TableName=table, Item={**key("a", "text"), "v": {"S": "not a number"}})
    dynamodb.put_item(TableName=table, Item={**key("a", "kept"), "v": {"N": "1"}})
    before = _all_items(dynamodb, table)

    with pytest.raises(ClientError) as failed:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key("a", "new"), "v": {"N": "1"}}}},
                {"Delete": {"TableName": table, "Key": key("a", "kept")}},
                # Adding to a string is only found out while applying the update.
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("a", "text"),
                        "UpdateExpression": "SET v = v + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    assert failed.value.response["Error"]["Code"] in {"ValidationException", "TransactionCanceledException"}
    assert _all_items(dynamodb, table) == before


def test_a_successful_transaction_applies_every_write(dynamodb: DynamoDBClient) -> None:
    table = create_table(dynamodb)
    dynamodb.put_item(TableName=table, Item={**key("a", "updated"), "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**key("a", "deleted"), "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**key("a", "checked"), "v": {"N": "1"}})

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {**key("a", "new"), "v": {"N": "1"}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": key("a", "updated"),
                    "UpdateExpression": "SET v = v + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": table, "Key": key("a", "deleted")}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": key("a", "checked"),
                    "ConditionExpression": "v = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )

    assert _all_items(dynamodb, table) == {"checked": "1", "new": "1", "updated": "2"}


@on_both
def test_a_transaction_does_not_slow_down_with_the_size_of_the_table(dynamodb: DynamoDBClient) -> None:
    tiny, large = create_table(dynamodb), create_table(dynamodb)
    fill(tiny, 10)
    fill(large, 10_000)

    unique = itertools.count()

    def seconds(table: str, *, fail: bool) -> float:
        n = next(unique)
        items: list[Any] = [
            {"Put": {"TableName": table, "Item": key("T#p#t", f"TRANSFER#{n}")}},
            {
                "Put": {
                    "TableName": table,
                    "Item": key("T#p#filler", "ITEM#000001" if fail else f"EVENT#{n}"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        started = time.perf_counter()
        try:
            dynamodb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            assert fail and exc.response["Error"]["Code"] == "TransactionCanceledException"
        return time.perf_counter() - started

    for fail in (True, False):
        seconds(tiny, fail=fail)  # warm up connections and code paths
        # Alternating, and the fastest of each: a busy machine only ever adds time, to either side.
        timings = [(seconds(tiny, fail=fail), seconds(large, fail=fail)) for _ in range(15)]
        ratio = min(large for _, large in timings) / min(tiny for tiny, _ in timings)
        # A copy of the table per transaction makes this ratio ~100; item-level work keeps it ~1.
        assert ratio < 3, f"{'failed' if fail else 'successful'} transaction on 10 000 items is {ratio:.1f}x slower"


def _all_items(dynamodb: DynamoDBClient, table: str) -> dict[str, str]:
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["sk"]["S"]: next(iter(item["v"].values())) for item in items}


def test_a_failed_transaction_leaves_no_record_in_the_tables_stream(endpoint: str, dynamodb: DynamoDBClient) -> None:
    table = create_table(dynamodb)
    dynamodb.update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    dynamodb.put_item(TableName=table, Item=key("a", "exists"))
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": key("a", "new")}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": key("a", "exists"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=table, Item=key("a", "after"))

    streams = client(endpoint, "dynamodbstreams")
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in records] == ["exists", "after"]
