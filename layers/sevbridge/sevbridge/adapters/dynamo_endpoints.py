"""Webhook endpoints in the Outbox table, and the cached catalog the notifier reads.

- platform endpoint   pk = P#<platform>, sk = ENDPOINT#<endpoint id>
- tenant override     pk = T#<platform>#<tenant>, sk = WEBHOOK_OVERRIDE (offboarding deletes it with the
                      tenant); gsi1pk = P#<platform>#OVERRIDE, gsi1sk = tenant id lists them. Its URL is
                      not stored here: it is the tenant's settings.webhook_url, read from the connection.
Writes are conditional on the revision read (optimistic concurrency), like connections.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.adapters.dynamo_outbox import StateConditionFailed, write_with_notices
from sevbridge.domain.errors import ConcurrentUpdate
from sevbridge.domain.notify.endpoints import Endpoint, EndpointKind, override_id, override_tenant
from sevbridge.domain.notify.notices import Notices
from sevbridge.domain.ports import ConnectionStore

OVERRIDE_SK = "WEBHOOK_OVERRIDE"


class DynamoEndpointStore:
    def __init__(self, table: str, connections: ConnectionStore) -> None:
        self._table = table
        self._connections = connections

    def _key(self, platform_id: str, endpoint_id: str) -> dict[str, Any]:
        tenant = override_tenant(endpoint_id)
        if tenant is not None:
            return to_item({"pk": tenant_pk(platform_id, tenant), "sk": OVERRIDE_SK})
        return to_item({"pk": f"P#{platform_id}", "sk": f"ENDPOINT#{endpoint_id}"})

    def _read(self, key: dict[str, Any]) -> Endpoint | None:
        item = aws_clients.dynamodb().get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return None if item is None else _endpoint(item)

    def get(self, platform_id: str, endpoint_id: str) -> Endpoint | None:
        tenant = override_tenant(endpoint_id)
        if tenant is None:
            return self._read(self._key(platform_id, endpoint_id))
        connection = self._connections.get(platform_id, tenant)
        if connection is None or connection.settings.webhook_url is None:
            return None
        url = str(connection.settings.webhook_url)
        stored = self._read(self._key(platform_id, endpoint_id))
        if stored is None:  # URL set, secret not created yet (PUT …/connection creates it)
            stored = Endpoint(
                endpoint_id=override_id(tenant),
                platform_id=platform_id,
                kind=EndpointKind.TENANT_OVERRIDE,
                tenant_ids=[tenant],
                created_at=connection.updated_at,
                updated_at=connection.updated_at,
            )
        return stored.model_copy(update={"url": url})

    def list_endpoints(self, platform_id: str) -> list[Endpoint]:
        paginator = aws_clients.dynamodb().get_paginator("query")
        return [
            _endpoint(item)
            for page in paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
                ExpressionAttributeValues={":pk": {"S": f"P#{platform_id}"}, ":e": {"S": "ENDPOINT#"}},
                ConsistentRead=True,
            )
            for item in page.get("Items", [])
        ]

    def list_overrides(self, platform_id: str, after: str | None, limit: int) -> tuple[list[Endpoint], str | None]:
        values: dict[str, Any] = {":k": {"S": f"P#{platform_id}#OVERRIDE"}}
        condition = "gsi1pk = :k"
        if after:
            condition += " AND gsi1sk > :after"
            values[":after"] = {"S": after}
        found: list[Endpoint] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        client = aws_clients.dynamodb()
        while True:
            response = client.query(**kwargs)
            for item in response.get("Items", []):
                tenant = str(from_item(item)["gsi1sk"])
                endpoint = self.get(platform_id, override_id(tenant))
                if endpoint is not None:  # a record whose URL was removed is inactive: not listed
                    found.append(endpoint)
                if len(found) == limit:
                    return found, tenant
            if "LastEvaluatedKey" not in response:
                return found, None
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def save(self, endpoint: Endpoint, notices: Notices | None = None) -> Endpoint:
        stored = endpoint.model_copy(update={"revision": endpoint.revision + 1})
        values: dict[str, Any] = {
            **from_item(self._key(endpoint.platform_id, endpoint.endpoint_id)),
            "platform_id": endpoint.platform_id,
            "endpoint_id": endpoint.endpoint_id,
            "revision": stored.revision,
            # An override's URL is the tenant's setting, never a copy here.
            "doc": stored.model_dump_json(exclude={"url"} if endpoint.kind is EndpointKind.TENANT_OVERRIDE else None),
        }
        if endpoint.kind is EndpointKind.TENANT_OVERRIDE:
            values |= {"gsi1pk": f"P#{endpoint.platform_id}#OVERRIDE", "gsi1sk": endpoint.tenant_id}
        put: dict[str, Any] = {"TableName": self._table, "Item": to_item(values)}
        if endpoint.revision == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "revision = :seen"
            put["ExpressionAttributeValues"] = {":seen": {"N": str(endpoint.revision)}}
        try:
            write_with_notices(self._table, [{"Put": put}], notices)
        except StateConditionFailed:
            raise ConcurrentUpdate(f"webhook endpoint {endpoint.endpoint_id} changed meanwhile; try again") from None
        return stored

    def delete(self, endpoint: Endpoint) -> None:
        aws_clients.dynamodb().delete_item(
            TableName=self._table, Key=self._key(endpoint.platform_id, endpoint.endpoint_id)
        )


def _endpoint(item: dict[str, Any]) -> Endpoint:
    values = from_item(item)
    return Endpoint.model_validate_json(values["doc"]).model_copy(update={"revision": int(values["revision"])})


class CachedEndpointCatalog:
    """The notifier's view of who wants what, cached per platform and per tenant for `ttl_seconds`
    (a new endpoint receives events within that time; this process's own changes apply at once)."""

    def __init__(
        self, store: DynamoEndpointStore, *, ttl_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._platforms: dict[str, tuple[float, list[Endpoint]]] = {}
        self._overrides: dict[tuple[str, str], tuple[float, Endpoint | None]] = {}

    def platform_endpoints(self, platform_id: str) -> list[Endpoint]:
        now = self._clock()
        with self._lock:
            hit = self._platforms.get(platform_id)
            if hit and hit[0] > now:
                return hit[1]
        endpoints = self._store.list_endpoints(platform_id)
        with self._lock:
            self._platforms[platform_id] = (now + self._ttl, endpoints)
        return endpoints

    def tenant_override(self, platform_id: str, tenant_id: str) -> Endpoint | None:
        now = self._clock()
        key = (platform_id, tenant_id)
        with self._lock:
            hit = self._overrides.get(key)
            if hit and hit[0] > now:
                return hit[1]
        override = self._store.get(platform_id, override_id(tenant_id))
        with self._lock:
            self._overrides[key] = (now + self._ttl, override)
        return override

    def forget(self, platform_id: str, tenant_id: str | None = None) -> None:
        with self._lock:
            self._platforms.pop(platform_id, None)
            if tenant_id is None:
                for key in [k for k in self._overrides if k[0] == platform_id]:
                    self._overrides.pop(key, None)
            else:
                self._overrides.pop((platform_id, tenant_id), None)
