"""Reads a test tenant's ledger items straight from DynamoDB (what the API does not show)."""

from __future__ import annotations

from typing import Any

import boto3

from sevbridge import wiring
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.config import get_settings


def transfer_items(tenant_id: str = "school-42") -> list[dict[str, Any]]:
    """The tenant's `TRANSFER#` items (the only connection's platform)."""
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    return boto3.client("dynamodb").query(
        TableName=get_settings().ledger_table,
        KeyConditionExpression="pk = :k AND begins_with(sk, :t)",
        ExpressionAttributeValues={":k": {"S": tenant_pk(platform_id, tenant_id)}, ":t": {"S": "TRANSFER#"}},
    )["Items"]


def forget_transfer_items(tenant_id: str = "school-42") -> int:
    """Deletes the `TRANSFER#` items of the tenant's current transfers (those its documents' pointers
    name): the ledger as it is when those transfers went live — their documents travel in their queue
    messages, their pointers hold their state. Older transfers keep their items. Readers must find the
    current ones on the pointers alone. Returns how many were deleted."""
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    client = boto3.client("dynamodb")
    pointers = client.query(
        TableName=get_settings().ledger_table,
        KeyConditionExpression="pk = :k AND begins_with(sk, :d)",
        ExpressionAttributeValues={":k": {"S": tenant_pk(platform_id, tenant_id)}, ":d": {"S": "DOC#"}},
    )["Items"]
    current = {p["tid"]["S"] for p in pointers if "tid" in p}
    items = [i for i in transfer_items(tenant_id) if i["sk"]["S"].removeprefix("TRANSFER#") in current]
    for item in items:
        client.delete_item(TableName=get_settings().ledger_table, Key={"pk": item["pk"], "sk": item["sk"]})
    return len(items)
