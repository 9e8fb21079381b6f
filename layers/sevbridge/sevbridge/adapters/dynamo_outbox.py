"""The outbox in DynamoDB (Outbox table): deliveries and notice guards, and the helper that writes a state
change and its notices in one transaction.

Keys (docs/architecture.md):
- delivery   pk = T#<platform>#<tenant> (or P#<platform> for events about endpoints), sk = DLV#<delivery id>;
             gsi1 (gsi1pk = P#<platform>#DLV, gsi1sk = delivery id) lists a platform's deliveries by time;
             gsi2 (gsi2pk = DUE#<shard>, gsi2sk = <next attempt>#<id>) holds pending ones only, for the tick.
- guard      pk = T#<platform>#<tenant>, sk = GUARD#<key>: when a rate-limited notice was last written.
Delivery ids sort by creation time, so time filters are key ranges.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.notify.deliveries import Delivery, DeliveryRef, DeliveryStatus
from sevbridge.domain.notify.ids import id_floor
from sevbridge.domain.notify.notices import Guard, Notices
from sevbridge.domain.notify.ports import DeliveryPage, DeliveryQuery, DueDelivery

SHARDS = 4
MAX_QUERY_PAGES = 5  # per API request: a sparse filter answers with a cursor instead of reading on and on
_ID = re.compile(r"^dlv_[0-9a-f]{22}$")


class StateConditionFailed(Exception):
    """The state change's own condition failed (e.g. the item changed meanwhile); nothing was written."""

    def __init__(self, index: int) -> None:
        super().__init__(f"condition of transaction item {index} failed")
        self.index = index


def owner_pk(platform_id: str, tenant_id: str | None) -> str:
    return tenant_pk(platform_id, tenant_id) if tenant_id is not None else f"P#{platform_id}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _shard(delivery_id: str) -> int:
    return int(delivery_id[-2:], 16) % SHARDS


def delivery_item(delivery: Delivery) -> dict[str, Any]:
    values: dict[str, Any] = {
        "pk": owner_pk(delivery.platform_id, delivery.tenant_id),
        "sk": f"DLV#{delivery.delivery_id}",
        "gsi1pk": f"P#{delivery.platform_id}#DLV",
        "gsi1sk": delivery.delivery_id,
        "platform_id": delivery.platform_id,
        "tenant_id": delivery.tenant_id,
        "endpoint_id": delivery.endpoint_id,
        "type": delivery.type.value,
        "status": delivery.status.value,
        "round": delivery.round,
        "attempts_made": delivery.attempts_made,
        "enqueued_for": _iso(delivery.enqueued_for) if delivery.enqueued_for else None,
        # Compressed: a delivery is ~1.5 KB as JSON and ~0.7 KB zipped, so each write costs 1 unit, not 2.
        "doc": zlib.compress(delivery.model_dump_json().encode(), 6),
        "expires_at": int(delivery.expires_at.timestamp()),
    }
    if delivery.status is DeliveryStatus.PENDING and delivery.next_attempt_at is not None:
        values["gsi2pk"] = f"DUE#{_shard(delivery.delivery_id)}"
        values["gsi2sk"] = f"{_iso(delivery.next_attempt_at)}#{delivery.delivery_id}"
    return to_item(values)


def guard_put(table: str, guard: Guard) -> dict[str, Any]:
    at = int(guard.at.timestamp())
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(
                {
                    "pk": tenant_pk(guard.platform_id, guard.tenant_id),
                    "sk": f"GUARD#{guard.key}",
                    "last_at": at,
                    "expires_at": at + int(guard.window.total_seconds()) + 86400,
                }
            ),
            "ConditionExpression": "attribute_not_exists(sk) OR last_at <= :cutoff",
            "ExpressionAttributeValues": {":cutoff": {"N": str(at - int(guard.window.total_seconds()))}},
        }
    }


def notice_items(table: str, notices: Notices) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    deliveries = [{"Put": {"TableName": table, "Item": delivery_item(d)}} for d in notices.deliveries]
    return deliveries, [guard_put(table, g) for g in notices.guards]


def write_with_notices(table: str, state_items: Sequence[dict[str, Any]], notices: Notices | None) -> bool:
    """Writes the state change and its notices in one DynamoDB transaction: never "state changed but
    nobody was told". If only a guard's condition failed (another writer sent that rate-limited notice
    first), the state change is written alone and False is returned. A failed condition of a state item
    raises StateConditionFailed(index) with nothing written."""
    deliveries, guards = notice_items(table, notices) if notices else ([], [])
    items = [*state_items, *deliveries, *guards]
    if not items:
        return False
    client = aws_clients.dynamodb()
    try:
        client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        return bool(deliveries)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons", [])  # type: ignore[typeddict-item]
        failed = [i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"]
        if not failed:
            raise
        first_guard = len(state_items) + len(deliveries)
        state_failures = [i for i in failed if i < len(state_items)]
        if state_failures:
            raise StateConditionFailed(state_failures[0]) from None
        if all(i >= first_guard for i in failed):
            if state_items:
                client.transact_write_items(TransactItems=list(state_items))  # type: ignore[arg-type]
            return False
        raise


class DynamoDeliveryStore:
    def __init__(self, table: str) -> None:
        self._table = table

    def get(self, ref: DeliveryRef) -> Delivery | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": owner_pk(ref.platform_id, ref.tenant_id), "sk": f"DLV#{ref.delivery_id}"}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _delivery(item)

    def find(self, platform_id: str, delivery_id: str) -> Delivery | None:
        if not _ID.fullmatch(delivery_id):
            return None
        found = aws_clients.dynamodb().query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :k AND gsi1sk = :id",
            ExpressionAttributeValues={":k": {"S": f"P#{platform_id}#DLV"}, ":id": {"S": delivery_id}},
        )
        for item in found.get("Items", []):
            values = from_item(item)
            return self.get(
                DeliveryRef(platform_id=platform_id, tenant_id=values.get("tenant_id"), delivery_id=delivery_id)
            )
        return None

    def write(self, notices: Notices) -> bool:
        return write_with_notices(self._table, [], notices)

    def update(self, delivery: Delivery, *, seen: Delivery) -> bool:
        try:
            aws_clients.dynamodb().put_item(
                TableName=self._table,
                Item=delivery_item(delivery),
                ConditionExpression="attempts_made = :a AND #r = :r AND #s = :s",
                ExpressionAttributeNames={"#r": "round", "#s": "status"},
                ExpressionAttributeValues={
                    ":a": {"N": str(seen.attempts_made)},
                    ":r": {"N": str(seen.round)},
                    ":s": {"S": seen.status.value},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def due(self, until: datetime) -> Iterator[DueDelivery]:
        client = aws_clients.dynamodb()
        paginator = client.get_paginator("query")
        for shard in range(SHARDS):
            for page in paginator.paginate(
                TableName=self._table,
                IndexName="gsi2",
                KeyConditionExpression="gsi2pk = :k AND gsi2sk <= :until",
                ExpressionAttributeValues={":k": {"S": f"DUE#{shard}"}, ":until": {"S": f"{_iso(until)}#~"}},
            ):
                for item in page.get("Items", []):
                    values = from_item(item)
                    due_at, _, delivery_id = str(values["gsi2sk"]).partition("#")
                    enqueued = values.get("enqueued_for")
                    yield DueDelivery(
                        ref=DeliveryRef(
                            platform_id=values["platform_id"],
                            tenant_id=values.get("tenant_id"),
                            delivery_id=delivery_id,
                        ),
                        next_attempt_at=datetime.fromisoformat(due_at),
                        enqueued_for=datetime.fromisoformat(enqueued) if enqueued else None,
                        attempts_made=int(values["attempts_made"]),
                    )

    def mark_enqueued(self, due: DueDelivery) -> bool:
        delivery = self.get(due.ref)
        if (
            delivery is None
            or delivery.status is not DeliveryStatus.PENDING
            or delivery.attempts_made != due.attempts_made
            or delivery.next_attempt_at != due.next_attempt_at
        ):
            return False
        return self.update(delivery.scheduled_via_queue(), seen=delivery)

    # --- the delivery log -------------------------------------------------------------------------
    def query(self, platform_id: str, query: DeliveryQuery) -> DeliveryPage:
        low = id_floor("dlv", query.since) if query.since else "dlv_"
        high = id_floor("dlv", query.until) if query.until else "dlv_~"
        after = _decode_cursor(query.cursor) if query.cursor else None
        if after is not None:
            if query.oldest_first:
                low = max(low, after)
            else:
                high = min(high, after)
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if query.tenant_id is not None:
            key = "pk = :k AND sk BETWEEN :lo AND :hi"
            values |= {":k": {"S": tenant_pk(platform_id, query.tenant_id)}, ":lo": {"S": f"DLV#{low}"}}
            values[":hi"] = {"S": f"DLV#{high}"}
            index = None
        else:
            key = "gsi1pk = :k AND gsi1sk BETWEEN :lo AND :hi"
            values |= {":k": {"S": f"P#{platform_id}#DLV"}, ":lo": {"S": low}, ":hi": {"S": high}}
            index = "gsi1"
        filters: list[str] = []
        if query.statuses:
            names["#s"] = "status"
            options = sorted(s.value for s in query.statuses)
            filters.append(f"#s IN ({', '.join(f':s{i}' for i in range(len(options)))})")
            values |= {f":s{i}": {"S": s} for i, s in enumerate(options)}
        for attr, value in (("type", query.type.value if query.type else None), ("endpoint_id", query.endpoint_id)):
            if value is not None:
                names[f"#{attr}"] = attr
                values[f":{attr}"] = {"S": value}
                filters.append(f"#{attr} = :{attr}")
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": key,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": query.oldest_first,
        }
        if index:
            kwargs["IndexName"] = index
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
            kwargs["ExpressionAttributeNames"] = names
        keys: list[dict[str, Any]] = []
        last_seen: str | None = None
        more = False
        client = aws_clients.dynamodb()
        for _ in range(MAX_QUERY_PAGES):
            response = client.query(**kwargs)
            for item in response.get("Items", []):
                delivery_id = str(from_item(item)["sk"]).removeprefix("DLV#")
                if delivery_id == after:
                    continue
                keys.append({"pk": item["pk"], "sk": item["sk"]})
                last_seen = delivery_id
                if len(keys) == query.limit:
                    break
            if len(keys) == query.limit:
                more = True
                break
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            last_seen = str(from_item(response["LastEvaluatedKey"])["sk"]).removeprefix("DLV#")
        else:
            more = True  # stopped reading: the cursor continues where the reading stopped
        items = self._load(keys)
        return DeliveryPage(items=items, next_cursor=_encode_cursor(last_seen) if more and last_seen else None)

    def _load(self, keys: list[dict[str, Any]]) -> list[Delivery]:
        client = aws_clients.dynamodb()
        found: dict[str, Delivery] = {}
        for start in range(0, len(keys), 100):
            request: Any = {self._table: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while request:
                response = client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    delivery = _delivery(item)
                    found[delivery.delivery_id] = delivery
                request = response.get("UnprocessedKeys") or None
        ordered = [str(from_item(k)["sk"]).removeprefix("DLV#") for k in keys]
        return [found[i] for i in ordered if i in found]


class DynamoGuardStore:
    def __init__(self, table: str) -> None:
        self._table = table

    def last_notice_at(self, platform_id: str, tenant_id: str, key: str) -> datetime | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": f"GUARD#{key}"}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        if item is None:
            return None
        return datetime.fromtimestamp(int(from_item(item)["last_at"]), tz=UTC)


def _delivery(item: dict[str, Any]) -> Delivery:
    return Delivery.model_validate_json(zlib.decompress(bytes(from_item(item)["doc"])))


def _encode_cursor(delivery_id: str) -> str:
    return base64.urlsafe_b64encode(delivery_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        value = ""
    if not _ID.fullmatch(value):
        raise InvalidInput(
            "cursor is not valid", details=[{"field": "query.cursor", "problem": "not a cursor from this API"}]
        )
    return value
