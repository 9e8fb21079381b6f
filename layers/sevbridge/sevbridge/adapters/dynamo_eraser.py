"""Offboarding (C5): deletes every item under the tenant's partition key in every tenant-scoped table.

Order matters while the tenant's transfers are still running: `first` (the connection item) goes before
anything else, so no new transfer or intake can read it, then the tables in the order given (the ledger
before the tenants table: a transfer worker reuses a connection it read for a few seconds, and a
transfer that starts after its ledger rows are gone stops at its claim instead of pushing). A transfer
already pushing finds its document gone at its outcome write and removes the mappings it wrote on the
way (domain/transfer_runner.py: TransferGone)."""

from __future__ import annotations

from collections.abc import Sequence

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk


class DynamoTenantEraser:
    def __init__(self, tables: Sequence[str], *, first: Sequence[tuple[str, str]] = ()) -> None:
        self._tables = tuple(tables)
        self._first = tuple(first)  # (table, sort key) deleted before anything else

    def erase(self, platform_id: str, tenant_id: str) -> int:
        client = aws_clients.dynamodb()
        pk = tenant_pk(platform_id, tenant_id)
        deleted = 0
        for table, sk in self._first:
            gone = client.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ReturnValues="ALL_OLD")
            deleted += 1 if gone.get("Attributes") else 0
        for table in self._tables:
            paginator = client.get_paginator("query")
            keys = [
                {"pk": item["pk"], "sk": item["sk"]}
                for page in paginator.paginate(
                    TableName=table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": pk}},
                    ProjectionExpression="pk, sk",
                    ConsistentRead=True,
                )
                for item in page.get("Items", [])
            ]
            for start in range(0, len(keys), 25):
                batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
                request = {table: batch}
                while request:
                    response = client.batch_write_item(RequestItems=request)  # type: ignore[arg-type]
                    request = response.get("UnprocessedItems") or {}  # type: ignore[assignment]
            deleted += len(keys)
        return deleted
