"""The reference cache's DynamoDB tier: one item per tenant in the tenants table,
pk = "T#<platform>#<tenant>" (the tenant's partition, so offboarding removes it with the rest),
sk = "REFDATA", one attribute per cached entry ("ref:units", "ref:countries:de", …) holding JSON
with the time it was read from sevDesk, and `expires_at` (DynamoDB TTL) a day after the last write.

Entries older than `ttl` are ignored on read (DynamoDB deletes expired items only eventually). The
cache is an optimisation: a failed read or write of this item is logged and treated as a miss, never
as a failed transfer (sevDesk is then simply asked, as without the store).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, to_item
from sevbridge.adapters.sevdesk.reference_cache import Key
from sevbridge.common.observability import logger
from sevbridge.domain.push.ports import SdCategory, SdCheckAccount, SdCountry, SdUnit

SK = "REFDATA"
PREFIX = "ref:"
DEFAULT_TTL_SECONDS = 24 * 3600.0

# How each kind of entry (the key's first part, see gateway.py) is turned back into its value.
_RECORDS: dict[str, Callable[..., Any]] = {
    "units": SdUnit,
    "categories": SdCategory,
    "countries": SdCountry,
    "check_accounts": SdCheckAccount,
}
_SCALARS = {"user", "field_setting"}


def _encode(key: Key, value: Any) -> str | None:
    if key[0] in _RECORDS:
        return json.dumps([asdict(item) for item in value])
    if key[0] in _SCALARS:
        return json.dumps(str(value))
    return None  # not ours to share (e.g. a guess kept in the process only)


def _decode(key: Key, raw: Any) -> Any:
    if key[0] in _RECORDS:
        return tuple(_RECORDS[key[0]](**item) for item in raw)
    return str(raw)


def _attribute(key: Key) -> str:
    return PREFIX + ":".join(key)


class DynamoReferenceStore:
    """Implements reference_cache.ReferenceStore."""

    def __init__(self, table: str, *, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.ttl = ttl
        self._clock = clock

    def _key(self, tenant_key: str) -> dict[str, Any]:
        return to_item({"pk": f"T#{tenant_key}", "sk": SK})

    def load(self, tenant_key: str) -> dict[Key, Any]:
        try:
            item = aws_clients.dynamodb().get_item(TableName=self.table, Key=self._key(tenant_key)).get("Item")
        except (BotoCoreError, ClientError) as exc:
            logger.warning("reference data store not readable; asking sevDesk", extra={"error": type(exc).__name__})
            return {}
        if item is None:
            return {}
        now = self._clock()
        entries: dict[Key, Any] = {}
        for name, text in from_item(item).items():
            if not name.startswith(PREFIX) or not isinstance(text, str):
                continue
            key: Key = tuple(name[len(PREFIX) :].split(":"))
            try:
                stored = json.loads(text)
                if stored["at"] + self.ttl > now and (key[0] in _RECORDS or key[0] in _SCALARS):
                    entries[key] = _decode(key, stored["value"])
            except (ValueError, KeyError, TypeError):
                continue  # written by another version, or damaged: sevDesk is asked instead
        return entries

    def save(self, tenant_key: str, key: Key, value: Any) -> None:
        encoded = _encode(key, value)
        if encoded is None:
            return
        now = self._clock()
        text = json.dumps({"at": now, "value": json.loads(encoded)}, separators=(",", ":"))
        try:
            aws_clients.dynamodb().update_item(
                TableName=self.table,
                Key=self._key(tenant_key),
                UpdateExpression="SET #entry = :entry, expires_at = :expires",
                ExpressionAttributeNames={"#entry": _attribute(key)},
                ExpressionAttributeValues=to_item({":entry": text, ":expires": int(now + self.ttl)}),
            )
        except (BotoCoreError, ClientError) as exc:
            logger.warning("reference data not stored", extra={"error": type(exc).__name__})

    def forget(self, tenant_key: str) -> None:
        try:
            aws_clients.dynamodb().delete_item(TableName=self.table, Key=self._key(tenant_key))
        except (BotoCoreError, ClientError) as exc:
            logger.warning("stored reference data not dropped", extra={"error": type(exc).__name__})
