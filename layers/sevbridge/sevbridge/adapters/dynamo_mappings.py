"""Push mappings on the ledger's document items: pk = "T#<platform>#<tenant>", sk = "DOC#<kind>#<source_id>".

One mapping per pushed document: which sevDesk object it became and how far its push got (or, with
`seen_only`, just the newest version received for a document skipped so far). It lives on the same
item as the document's ledger pointer (adapters/dynamo_ledger.py), as one attribute of its own (`map`,
compact JSON), so that the transfer's outcome write carries its document's mapping: one write unit, not
two (docs/ledger.md). Pointer writes never touch `map`, and a mapping write is an UpdateItem that sets
`map` only, so neither can overwrite the other whichever comes first. A contact that only went to sevDesk
as an invoice's customer has an item with `map` and no pointer (`tid`); the ledger reads such an item as
"no transfer yet". The partition is the tenant's, so offboarding (C5) removes the mappings with the ledger.

The `MARKING` item (the contact custom-field setting this connection created) stays in the tenants table.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.domain.push.ports import MappingKind, MappingRow

MAP_ATTR = "map"
MARKING_SK = "MARKING"  # the contact custom-field setting this connection created (ports.MappingStore)
# The ledger's kind of the document a mapping belongs to (a project becomes an invoice draft).
LEDGER_KIND: dict[str, str] = {"contact": "contact", "invoice": "invoice", "project": "invoice_draft"}


def mapping_sk(kind: MappingKind | str, source_id: str) -> str:
    """The sort key of the document item that holds this mapping (the ledger's pointer item)."""
    return f"DOC#{LEDGER_KIND[kind]}#{source_id}"


def mapping_value(row: MappingRow) -> str:
    """`row` as the `map` attribute: short keys, no empty values (the item stays small; docs/ledger.md)."""
    values = {
        "i": row.sevdesk_id,
        "v": _moment(row.version),
        "n": row.number,
        "s": row.status,
        "c": row.content_hash,
        "a": row.address_hash,
        "k": row.contact_sevdesk_id,
        "x": None if row.complete else 0,  # stored only when False: most rows are complete
        "w": _moment(row.seen_version),
        "o": 1 if row.seen_only else None,
        # Lists, not sets: "none owned" ([]) must differ from "unknown" (absent).
        "oa": None if row.owned_addresses is None else list(row.owned_addresses),
        "ow": None if row.owned_ways is None else list(row.owned_ways),
        "eh": row.echo_hash,
        "ea": _moment(row.echo_at),
    }
    return json.dumps({k: v for k, v in values.items() if v is not None}, separators=(",", ":"), ensure_ascii=False)


def mapping_row(kind: MappingKind, source_id: str, value: str) -> MappingRow:
    values: dict[str, Any] = json.loads(value)
    status = values.get("s")
    return MappingRow(
        kind=kind,
        source_id=source_id,
        sevdesk_id=values.get("i"),
        version=_parsed(values.get("v")),
        number=values.get("n"),
        status=int(status) if status is not None else None,
        content_hash=values.get("c"),
        address_hash=values.get("a"),
        contact_sevdesk_id=values.get("k"),
        complete=bool(values.get("x", 1)),
        seen_version=_parsed(values.get("w")),
        seen_only=bool(values.get("o", 0)),
        owned_addresses=_tuple(values.get("oa")),
        owned_ways=_tuple(values.get("ow")),
        echo_hash=values.get("eh"),
        echo_at=_parsed(values.get("ea")),
    )


class DynamoMappingStore:
    """Implements sevbridge.domain.push.ports.MappingStore: mappings on the ledger's document items,
    the marking proof in the tenants table."""

    def __init__(self, ledger_table: str, tenants_table: str) -> None:
        self._table = ledger_table
        self._tenants_table = tenants_table

    def get(self, platform_id: str, tenant_id: str, kind: MappingKind, source_id: str) -> MappingRow | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": mapping_sk(kind, source_id)}),
                ConsistentRead=True,  # a retry right after a step must see that step
                ProjectionExpression="#m",
                ExpressionAttributeNames={"#m": MAP_ATTR},
            )
            .get("Item")
        )
        value = None if item is None else from_item(item).get(MAP_ATTR)
        return None if value is None else mapping_row(kind, source_id, str(value))

    def put(self, platform_id: str, tenant_id: str, row: MappingRow) -> None:
        # SET of `map` alone: the pointer's attributes (and its revision) stay as they are. Creates the
        # item if there is none yet (a customer contact without a transfer of its own).
        aws_clients.dynamodb().update_item(
            TableName=self._table,
            Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": mapping_sk(row.kind, row.source_id)}),
            UpdateExpression="SET #m = :m",
            ExpressionAttributeNames={"#m": MAP_ATTR},
            ExpressionAttributeValues=to_item({":m": mapping_value(row)}),
        )

    def forget(self, platform_id: str, tenant_id: str, row: MappingRow) -> None:
        try:
            aws_clients.dynamodb().delete_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": mapping_sk(row.kind, row.source_id)}),
                # Only our own leftover: not an item a transfer points from, not a newer row.
                ConditionExpression="attribute_not_exists(#tid) AND #m = :m",
                ExpressionAttributeNames={"#tid": "tid", "#m": MAP_ATTR},
                ExpressionAttributeValues=to_item({":m": mapping_value(row)}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def marking_setting(self, platform_id: str, tenant_id: str) -> str | None:
        # Eventually consistent (half the read units): written once per connection, and a stale miss
        # only costs the marker search the proof would have saved.
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._tenants_table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": MARKING_SK}),
                ConsistentRead=False,
            )
            .get("Item")
        )
        return None if item is None else str(from_item(item).get("setting_id"))

    def record_marking_setting(self, platform_id: str, tenant_id: str, setting_id: str) -> None:
        aws_clients.dynamodb().put_item(
            TableName=self._tenants_table,
            Item=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": MARKING_SK, "setting_id": setting_id}),
        )

    def forget_marking_setting(self, platform_id: str, tenant_id: str, setting_id: str) -> None:
        try:
            aws_clients.dynamodb().delete_item(
                TableName=self._tenants_table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": MARKING_SK}),
                ConditionExpression="setting_id = :s",
                ExpressionAttributeValues=to_item({":s": setting_id}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parsed(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(item) for item in value)
