"""Push mappings in the tenants table: pk = "T#<platform>#<tenant>", sk = "MAP#<kind>#<source_id>".

One item per pushed document: which sevDesk object it became and how far its push got (or, with
`seen_only`, just the newest version received for a document skipped so far). Sharing the
tenant's partition means offboarding (C5) removes these rows with everything else the tenant owns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.domain.push.ports import MappingKind, MappingRow

SK_PREFIX = "MAP#"
MARKING_SK = "MARKING"  # the contact custom-field setting this connection created (ports.MappingStore)


def mapping_sk(kind: MappingKind, source_id: str) -> str:
    return f"{SK_PREFIX}{kind}#{source_id}"


class DynamoMappingStore:
    """Implements sevbridge.domain.push.ports.MappingStore."""

    def __init__(self, table: str) -> None:
        self._table = table

    def get(self, platform_id: str, tenant_id: str, kind: MappingKind, source_id: str) -> MappingRow | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": mapping_sk(kind, source_id)}),
                ConsistentRead=True,  # a retry right after a step must see that step
            )
            .get("Item")
        )
        return None if item is None else _to_row(from_item(item))

    def put(self, platform_id: str, tenant_id: str, row: MappingRow) -> None:
        aws_clients.dynamodb().put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "pk": tenant_pk(platform_id, tenant_id),
                    "sk": mapping_sk(row.kind, row.source_id),
                    "kind": row.kind,
                    "source_id": row.source_id,
                    "sevdesk_id": row.sevdesk_id,
                    "version": row.version.isoformat() if row.version else None,
                    "number": row.number,
                    "status": row.status,
                    "content_hash": row.content_hash,
                    "address_hash": row.address_hash,
                    "contact_sevdesk_id": row.contact_sevdesk_id,
                    "complete": row.complete,
                    "seen_version": row.seen_version.isoformat() if row.seen_version else None,
                    "seen_only": row.seen_only,
                    "owned_addresses": _ids(row.owned_addresses),
                    "owned_ways": _ids(row.owned_ways),
                    "echo_hash": row.echo_hash,
                    "echo_at": row.echo_at.isoformat() if row.echo_at else None,
                }
            ),
        )

    def marking_setting(self, platform_id: str, tenant_id: str) -> str | None:
        # Eventually consistent (half the read units): written once per connection, and a stale miss
        # only costs the marker search the proof would have saved.
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": MARKING_SK}),
                ConsistentRead=False,
            )
            .get("Item")
        )
        return None if item is None else str(from_item(item).get("setting_id"))

    def record_marking_setting(self, platform_id: str, tenant_id: str, setting_id: str) -> None:
        aws_clients.dynamodb().put_item(
            TableName=self._table,
            Item=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": MARKING_SK, "setting_id": setting_id}),
        )


def _to_row(values: dict[str, Any]) -> MappingRow:
    status = values.get("status")
    version = values.get("version")
    seen_version = values.get("seen_version")
    return MappingRow(
        kind=values["kind"],
        source_id=values["source_id"],
        sevdesk_id=values.get("sevdesk_id"),
        version=datetime.fromisoformat(version) if version else None,
        number=values.get("number"),
        status=int(status) if status is not None else None,
        content_hash=values.get("content_hash"),
        address_hash=values.get("address_hash"),
        contact_sevdesk_id=values.get("contact_sevdesk_id"),
        complete=bool(values.get("complete", True)),
        seen_version=datetime.fromisoformat(seen_version) if seen_version else None,
        seen_only=bool(values.get("seen_only", False)),  # rows written before it existed: real rows
        owned_addresses=_tuple(values.get("owned_addresses")),
        owned_ways=_tuple(values.get("owned_ways")),
        echo_hash=values.get("echo_hash"),
        echo_at=datetime.fromisoformat(values["echo_at"]) if values.get("echo_at") else None,
    )


def _ids(ids: tuple[str, ...] | None) -> list[str] | None:
    # A list, not a string set: DynamoDB has no empty set, and "none owned" must differ from "unknown".
    return None if ids is None else list(ids)


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(item) for item in value)
