"""Offboarding (C5): deletes every item under the tenant's partition key in every tenant-scoped table."""

from __future__ import annotations

from collections.abc import Sequence

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk


class DynamoTenantEraser:
    def __init__(self, tables: Sequence[str]) -> None:
        self._tables = tuple(tables)

    def erase(self, platform_id: str, tenant_id: str) -> int:
        client = aws_clients.dynamodb()
        pk = tenant_pk(platform_id, tenant_id)
        deleted = 0
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
