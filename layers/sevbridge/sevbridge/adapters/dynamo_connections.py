"""Connections in the tenants table: one item per tenant, sk = "CONNECTION"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_import_schedule import DUE, SHARD, due_text, index_attributes, shard_of
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
        """An update, not a put: the import tick owns `import_due` on the same item (sparse import
        index, see dynamo_import_schedule.py) and must not be overwritten by a connection write. With
        notices, the same update commits in one transaction with them (C3 "notify once")."""
        stored = connection.model_copy(update={"revision": connection.revision + 1})
        doc = stored.model_dump(mode="json", exclude={"token_ciphertext"})
        imports, listed = index_attributes(connection)
        values = {
            "platform_id": connection.platform_id,
            "tenant_id": connection.tenant_id,
            "status": connection.status.value,
            "revision": stored.revision,
            "token_ciphertext": connection.token_ciphertext,
            "doc": json.dumps(doc, separators=(",", ":")),
            **imports,
        }
        if listed:
            values[SHARD] = shard_of(connection.platform_id, connection.tenant_id)
        names = {f"#a{i}": name for i, name in enumerate(values)}
        placeholders = {name: f":a{i}" for i, name in enumerate(values)}
        assignments = [f"#a{i} = :a{i}" for i in range(len(values))]
        names["#due"] = DUE
        # First listing (or a connection from before the index): due now.
        assignments.append("#due = if_not_exists(#due, :now)")
        update = "SET " + ", ".join(assignments)
        if not listed:
            names["#shard"] = SHARD
            update += " REMOVE #shard"
        attribute_values = {placeholders[name]: value for name, value in to_item(values).items()}
        attribute_values[":now"] = {"S": due_text(connection.updated_at)}
        if connection.revision == 0:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "revision = :seen"
            attribute_values[":seen"] = {"N": str(connection.revision)}
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"pk": tenant_pk(connection.platform_id, connection.tenant_id), "sk": SK}),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attribute_values,
        }
        conflict = ConcurrentUpdate(f"the connection of tenant '{connection.tenant_id}' changed meanwhile; try again")
        if notices:
            if self._outbox_table is None:
                raise RuntimeError("DynamoConnectionStore was built without the outbox table")
            try:
                write_with_notices(self._outbox_table, [{"Update": request}], notices)
            except StateConditionFailed:
                raise conflict from None
            return stored
        try:
            aws_clients.dynamodb().update_item(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise conflict from None
            raise
        return stored

    def list_connections(self) -> list[Connection]:
        return self._scan("sk = :sk", {":sk": {"S": SK}})

    def list_for_platform(self, platform_id: str) -> list[Connection]:
        """A filtered scan of the tenants table: for operators (`sevbridge tenants list`), never on a
        request path; it reads the whole table, mappings included."""
        return self._scan("sk = :sk AND platform_id = :p", {":sk": {"S": SK}, ":p": {"S": platform_id}})

    def _scan(self, condition: str, values: dict[str, Any]) -> list[Connection]:
        connections: list[Connection] = []
        paginator = aws_clients.dynamodb().get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table, FilterExpression=condition, ExpressionAttributeValues=values
        ):
            connections.extend(_to_connection(item) for item in page.get("Items", []))
        return connections


def _to_connection(item: Mapping[str, Any]) -> Connection:
    values = from_item(dict(item))
    doc = json.loads(values["doc"])
    return Connection.model_validate({**doc, "token_ciphertext": bytes(values["token_ciphertext"])})
