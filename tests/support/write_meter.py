"""A DynamoDB write-unit meter: botocore hooks (before-parameter-build, after-call) that price every
write by DynamoDB's documented rules.

Rules (DynamoDB developer guide, "Read/write capacity mode" and "Item sizes"):
- a write costs 1 WCU per started KB of the item — for Put/Update the larger of the item before and
  after, for Delete the item deleted; a write whose condition fails still costs the item's size;
- TransactWriteItems costs 2 WCU per started KB per item (ConditionCheck items too);
- each global secondary index the write touches costs by the size of its *projected* entry: a new
  entry is a put, a removed one a delete, a changed index key a delete + a put, and an entry whose
  key stays is rewritten only when a projected attribute changed (KEYS_ONLY: never);
- item size = the sum of attribute name lengths and value sizes (strings and binaries by length,
  numbers ≈ 1 byte per two significant digits + 1, lists/maps 3 bytes + 1 per element).

The meter reads each affected item before and after the call with its own (unhooked) client, so it
works against moto in-process and against the local stack alike. It is a measuring tool, not a
production path: it doubles the reads of every write.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3

from sevbridge.adapters import aws_clients


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        digits = Decimal(str(inner)).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True)
class _Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    included: tuple[str, ...]

    def entry(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        if not item or any(k not in item for k in self.keys):
            return None  # sparse: no entry without its keys
        if self.projection == "ALL":
            return dict(item)
        names = set(self.keys) | set(table_keys)
        if self.projection == "INCLUDE":
            names |= set(self.included)
        return {k: v for k, v in item.items() if k in names}


@dataclass(frozen=True)
class _Table:
    keys: tuple[str, ...]
    indexes: tuple[_Index, ...]


@dataclass
class WriteLog:
    """What the meter saw: units per table, per operation and per index."""

    total: int = 0
    by_table: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)

    def add(self, table: str, kind: str, wcu: int, note: str) -> None:
        self.total += wcu
        self.by_table[table] += wcu
        self.by_kind[kind] += wcu
        self.lines.append(f"{wcu:>3} WCU  {table:<22} {kind:<14} {note}")

    def report(self) -> str:
        return "\n".join([*self.lines, f"{self.total:>3} WCU  total"])


class WriteMeter:
    def __init__(self) -> None:
        self.log = WriteLog()
        self._tables: dict[str, _Table] = {}
        self._raw: Any = None
        self._pending = threading.local()
        self._lock = threading.Lock()

    # --- wiring -----------------------------------------------------------------------------------
    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def detach(self, client: Any) -> None:
        client.meta.events.unregister("before-parameter-build.dynamodb.*", self._before)
        client.meta.events.unregister("after-call.dynamodb.*", self._after)

    def reset(self) -> WriteLog:
        log, self.log = self.log, WriteLog()
        return log

    def _client(self) -> Any:
        if self._raw is None:
            self._raw = boto3.session.Session().client("dynamodb")
        return self._raw

    def _table(self, name: str) -> _Table:
        if name not in self._tables:
            desc = self._client().describe_table(TableName=name)["Table"]
            keys = tuple(k["AttributeName"] for k in desc["KeySchema"])
            indexes = tuple(
                _Index(
                    name=g["IndexName"],
                    keys=tuple(k["AttributeName"] for k in g["KeySchema"]),
                    projection=g["Projection"].get("ProjectionType", "ALL"),
                    included=tuple(g["Projection"].get("NonKeyAttributes", [])),
                )
                for g in desc.get("GlobalSecondaryIndexes", [])
            )
            self._tables[name] = _Table(keys, indexes)
        return self._tables[name]

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client().get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item

    # --- hooks --------------------------------------------------------------------------------------
    def _writes(self, operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], int]]:
        """(table, kind, key, multiplier) of every item the call writes."""

        def key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
            return {k: item[k] for k in self._table(table).keys}

        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            key = key_of(table, params["Item"]) if operation == "PutItem" else params["Key"]
            return [(table, operation, key, 1)]
        if operation == "TransactWriteItems":
            out = []
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                table = body["TableName"]
                key = key_of(table, body["Item"]) if kind == "Put" else body["Key"]
                out.append((table, f"Transact{kind}", key, 2))
            return out
        if operation == "BatchWriteItem":
            out = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        out.append((table, "BatchPut", key_of(table, request["PutRequest"]["Item"]), 1))
                    else:
                        out.append((table, "BatchDelete", request["DeleteRequest"]["Key"], 1))
            return out
        return []

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        writes = self._writes(model.name, params)
        self._pending.value = [(t, kind, key, mult, self._get(t, key)) for t, kind, key, mult in writes]
        self._pending.params = params

    def _after(self, model: Any, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        pending = getattr(self._pending, "value", None)
        self._pending.value = None
        if not pending:
            return
        # BatchWriteItem: what came back unprocessed was not written (it is retried, and metered, later).
        unprocessed = {
            str(
                sorted(
                    (k, str(v)) for k, v in (r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"]).items()
                )
            )
            for requests in (parsed.get("UnprocessedItems") or {}).values()
            for r in requests
        }
        failed = "Error" in parsed
        with self._lock:
            for table, kind, key, mult, before in pending:
                after = self._get(table, key)
                if unprocessed and kind.startswith("Batch"):
                    full = after if kind == "BatchPut" else key
                    if _fingerprint(full or {}) in unprocessed:
                        continue
                size = max(item_size(before), item_size(after))
                base = units(size) * mult
                note = f"{key.get('sk', key)!s:.60} ({size} B)" + (" [failed]" if failed else "")
                self.log.add(table, kind, base, note)
                if failed and before == after:
                    continue  # a failed condition writes no index entry
                self._index_writes(table, before, after)

    def _index_writes(self, table: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        spec = self._table(table)
        for index in spec.indexes:
            old, new = index.entry(before, spec.keys), index.entry(after, spec.keys)
            if old is None and new is None:
                continue
            same_key = old is not None and new is not None and all(old[k] == new[k] for k in index.keys)
            if same_key:
                if old != new:
                    size = max(item_size(old), item_size(new))
                    self.log.add(table, f"gsi:{index.name}", units(size), f"update ({size} B)")
                continue
            if old is not None:
                self.log.add(table, f"gsi:{index.name}", units(item_size(old)), f"delete ({item_size(old)} B)")
            if new is not None:
                self.log.add(table, f"gsi:{index.name}", units(item_size(new)), f"put ({item_size(new)} B)")


def _fingerprint(item: dict[str, Any]) -> str:
    return str(sorted((k, str(v)) for k, v in item.items()))


@contextmanager
def metered() -> Iterator[WriteMeter]:
    """Meters every write of the application's DynamoDB client (sevbridge.adapters.aws_clients)."""
    meter = WriteMeter()
    client = aws_clients.dynamodb()
    meter.attach(client)
    try:
        yield meter
    finally:
        meter.detach(client)
