"""Connections in the tenants table: one item per tenant, sk = "CONNECTION"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.adapters.dynamo_outbox import StateConditionFailed, write_with_notices
from sevbridge.domain.connection import Connection
from sevbridge.domain.errors import ConcurrentUpdate
from sevbridge.domain.notify.notices import Notices

SK = "CONNECTION"


class DynamoConnectionStore:
    def __init__(self, table: str, outbox_table: str | None = None) -> None:
        self._table = table
        self._outbox_table = outbox_table

    def get(self, platform_id: str, tenant_id: str) -> Connection | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": SK}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _to_connection(item)

    def save(self, connection: Connection, notices: Notices | None = None) -> Connection:
        stored = connection.model_copy(update={"revision": connection.revision + 1})
        doc = stored.model_dump(mode="json", exclude={"token_ciphertext"})
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if connection.revision == 0
            else {
                "ConditionExpression": "revision = :seen",
                "ExpressionAttributeValues": {":seen": {"N": str(connection.revision)}},
            }
        )
        item = to_item(
            {
                "pk": tenant_pk(connection.platform_id, connection.tenant_id),
                "sk": SK,
                "platform_id": connection.platform_id,
                "tenant_id": connection.tenant_id,
                "status": connection.status.value,
                "revision": stored.revision,
                "token_ciphertext": connection.token_ciphertext,
                "doc": json.dumps(doc, separators=(",", ":")),
            }
        )
        conflict = ConcurrentUpdate(f"the connection of tenant '{connection.tenant_id}' changed meanwhile; try again")
        if notices:
            # The status change and the webhook about it commit together (C3 "notify once").
            if self._outbox_table is None:
                raise RuntimeError("DynamoConnectionStore was built without the outbox table")
            try:
                write_with_notices(
                    self._outbox_table, [{"Put": {"TableName": self._table, "Item": item, **condition}}], notices
                )
            except StateConditionFailed:
                raise conflict from None
            return stored
        try:
            aws_clients.dynamodb().put_item(TableName=self._table, Item=item, **condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise conflict from None
            raise
        return stored

    def list_connections(self) -> list[Connection]:
        connections: list[Connection] = []
        paginator = aws_clients.dynamodb().get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table,
            FilterExpression="sk = :sk",
            ExpressionAttributeValues={":sk": {"S": SK}},
        ):
            connections.extend(_to_connection(item) for item in page.get("Items", []))
        return connections


def _to_connection(item: Mapping[str, Any]) -> Connection:
    values = from_item(dict(item))
    doc = json.loads(values["doc"])
    return Connection.model_validate({**doc, "token_ciphertext": bytes(values["token_ciphertext"])})
