"""The reference cache's DynamoDB tier: what one container stores, the next one reads (records come
back as records), entries older than the TTL are ignored, a rejection drops the item, and a store
that cannot be reached is a miss, never an error."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from sevbridge.adapters import aws_clients
from sevbridge.adapters.sevdesk.reference_cache import ReferenceCache
from sevbridge.adapters.sevdesk.reference_store import DynamoReferenceStore
from sevbridge.domain.push.ports import SdCheckAccount, SdUnit

pytestmark = pytest.mark.unit
TABLE = "tenants"
TENANT = "plat#t-1"
UNITS = (SdUnit(id="9", name="Std", translation_code="UNITY_HOUR", unece_code="HUR"),)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws_clients.reset()
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield TABLE
        aws_clients.reset()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_new_container_reads_what_another_stored(table: str) -> None:
    store = DynamoReferenceStore(table)
    first = ReferenceCache(store=store)
    first.put(TENANT, ("units",), UNITS)
    first.put(TENANT, ("check_accounts",), (SdCheckAccount(id="7", type="offline", status=100),))
    first.put(TENANT, ("user",), "520001")
    first.put(TENANT, ("next_customer_number",), "1005", shared=False)

    second = ReferenceCache(store=store)  # another process: nothing in memory

    assert second.get(TENANT, ("units",)) == (True, UNITS)
    assert second.get(TENANT, ("check_accounts",)) == (True, (SdCheckAccount(id="7", type="offline", status=100),))
    assert second.get(TENANT, ("user",)) == (True, "520001")
    assert second.get(TENANT, ("next_customer_number",)) == (False, None)  # a guess stays in its process
    assert second.get("plat#t-2", ("units",)) == (False, None)  # never another tenant's
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": f"T#{TENANT}"}, "sk": {"S": "REFDATA"}})
    assert int(item["Item"]["expires_at"]["N"]) > 0  # DynamoDB TTL removes it a day after the last write


def test_entries_older_than_the_ttl_are_ignored(table: str) -> None:
    clock = Clock()
    store = DynamoReferenceStore(table, ttl=3600, clock=clock)
    ReferenceCache(store=store).put(TENANT, ("units",), UNITS)

    clock.now += 3601

    assert ReferenceCache(store=store).get(TENANT, ("units",)) == (False, None)


def test_a_rejection_drops_the_stored_item_too(table: str) -> None:
    store = DynamoReferenceStore(table)
    cache = ReferenceCache(store=store)
    cache.put(TENANT, ("units",), UNITS)

    cache.forget(TENANT)

    assert ReferenceCache(store=store).get(TENANT, ("units",)) == (False, None)


def test_the_store_is_read_once_per_ttl_on_misses(table: str) -> None:
    reads: list[str] = []
    aws_clients.dynamodb().meta.events.register("before-call.dynamodb.GetItem", lambda **_: reads.append("get"))
    cache = ReferenceCache(store=DynamoReferenceStore(table))

    for _ in range(3):
        assert cache.get(TENANT, ("field_setting", "sevbridge_source_id")) == (False, None)

    assert reads == ["get"]


def test_an_unreachable_store_is_a_miss(table: str) -> None:
    cache = ReferenceCache(store=DynamoReferenceStore("no-such-table"))

    cache.put(TENANT, ("units",), UNITS)  # not stored, no error
    assert cache.get(TENANT, ("units",)) == (True, UNITS)  # the process part still works
    cache.forget(TENANT)
    assert cache.get(TENANT, ("units",)) == (False, None)
