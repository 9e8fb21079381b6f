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
