"""The write meter prices writes by DynamoDB's documented rules (tests/support/write_meter.py): item size,
the larger of before/after, 2x in transactions, and GSI entries by their projection (sparse, KEYS_ONLY,
ALL; a key change is a delete + a put)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.support.write_meter import WriteMeter, item_size

pytestmark = pytest.mark.functional


@pytest.fixture
def table(aws: Any) -> str:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="meter",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "a")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "keys",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "all",
                "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )
    return "meter"


def test_sizes_follow_dynamodb_rules() -> None:
    assert item_size({"pk": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits -> 3 bytes + 1
    assert item_size({"b": {"B": b"\x00" * 10}, "t": {"BOOL": True}}) == 11 + 2


def test_puts_updates_transactions_and_indexes_are_priced(table: str) -> None:
    client = boto3.client("dynamodb")
    meter = WriteMeter()
    meter.attach(client)
    big = "x" * 1500
    client.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "1"}, "doc": {"S": big}})
    assert meter.reset().total == 2  # 1.5 KB: two started KB, no index entry (sparse)

    client.update_item(
        TableName=table,
        Key={"pk": {"S": "p"}, "sk": {"S": "1"}},
        UpdateExpression="SET g = :g REMOVE doc",
        ExpressionAttributeValues={":g": {"S": "failed"}},
    )
    log = meter.reset()
    assert log.by_kind["UpdateItem"] == 2  # the larger of before (1.5 KB) and after
    assert log.by_kind["gsi:keys"] == 1  # a new KEYS_ONLY entry

    client.update_item(
        TableName=table,
        Key={"pk": {"S": "p"}, "sk": {"S": "1"}},
        UpdateExpression="SET g = :g, a = :a",
        ExpressionAttributeValues={":g": {"S": "queued"}, ":a": {"S": "x"}},
    )
    log = meter.reset()
    assert log.by_kind["gsi:keys"] == 2  # key changed: delete + put
    assert log.by_kind["gsi:all"] == 1

    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "2"}}}}]
    )
    assert meter.reset().total == 2  # transactions cost twice
    meter.detach(client)
