"""The sparse import index on the tenants table (GSI `imports`): only CONNECTION items of connected,
enabled tenants carry `import_shard`, so only they are in it; `import_due` (UTC, sortable text) is
its sort key and `import_interval` / `import_kinds` ride along (projected), which is all the tick
reads. Mapping and other rows never appear in the index.

DynamoConnectionStore.save keeps the attributes in step with the connection; the tick moves
`import_due` here, conditionally, without touching the connection's revision.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.pull.scheduling import SHARDS, ScheduledTenant

INDEX = "imports"
SHARD, DUE, INTERVAL, KINDS = "import_shard", "import_due", "import_interval", "import_kinds"
CONNECTION_SK = "CONNECTION"
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def due_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_due(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def shard_of(platform_id: str, tenant_id: str) -> str:
    return f"S{zlib.crc32(tenant_pk(platform_id, tenant_id).encode()) % SHARDS}"


def index_attributes(connection: Connection) -> tuple[dict[str, Any], bool]:
    """(attributes always written, whether the tenant belongs in the index)."""
    listed = connection.status is ConnectionStatus.CONNECTED and connection.settings.enabled
    values = {
        INTERVAL: connection.settings.import_interval_minutes,
        KINDS: ",".join(kind.value for kind in connection.settings.import_kinds),
    }
    return values, listed


class DynamoImportSchedule:
    """Implements sevbridge.domain.pull.scheduling.ImportSchedule."""

    def __init__(self, table: str) -> None:
        self._table = table

    def tenants(self, shard: int) -> Iterator[ScheduledTenant]:
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            IndexName=INDEX,
            KeyConditionExpression="#shard = :shard",
            ExpressionAttributeNames={"#shard": SHARD},
            ExpressionAttributeValues={":shard": {"S": f"S{shard}"}},
        ):
            for item in page.get("Items", []):
                kinds = item.get(KINDS, {}).get("S", "")
                yield ScheduledTenant(
                    platform_id=item["platform_id"]["S"],
                    tenant_id=item["tenant_id"]["S"],
                    shard=item[SHARD]["S"],
                    due=parse_due(item[DUE]["S"]),
                    interval_minutes=int(item[INTERVAL]["N"]),
                    kinds=tuple(k for k in kinds.split(",") if k),
                )

    def advance(self, tenant: ScheduledTenant, next_due: datetime) -> bool:
        return self._move(tenant, seen=tenant.due, to=next_due, must_be_listed=True)

    def put_back(self, tenant: ScheduledTenant, claimed_due: datetime) -> None:
        self._move(tenant, seen=claimed_due, to=tenant.due, must_be_listed=False)

    def _move(self, tenant: ScheduledTenant, *, seen: datetime, to: datetime, must_be_listed: bool) -> bool:
        condition = "#due = :seen" + (" AND attribute_exists(#shard)" if must_be_listed else "")
        names = {"#due": DUE, **({"#shard": SHARD} if must_be_listed else {})}
        try:
            aws_clients.dynamodb().update_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant.platform_id, tenant.tenant_id)}, "sk": {"S": CONNECTION_SK}},
                UpdateExpression="SET #due = :to",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":seen": {"S": due_text(seen)}, ":to": {"S": due_text(to)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
