"""Platforms and their hashed API keys in the platforms table: `PLATFORM#<id>` per platform and
`KEY#<sha256>` per key (a copy of the platform, so authentication is one read)."""

from __future__ import annotations

from typing import Any

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, to_item
from sevbridge.domain.platform import Platform, StoredKey

KEY_PREFIX = "KEY#"


class DynamoPlatformStore:
    def __init__(self, table: str) -> None:
        self._table = table

    def save(self, platform: Platform, key_hash: str) -> None:
        data = platform.model_dump(mode="json")
        aws_clients.dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item({"pk": f"PLATFORM#{platform.platform_id}", "sk": "PLATFORM", **data}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(_key_item(platform, key_hash, data["created_at"])),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def find_by_key_hash(self, key_hash: str) -> Platform | None:
        # Strongly consistent: a key revoked a moment ago must not authenticate anywhere.
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": f"{KEY_PREFIX}{key_hash}", "sk": "KEY"}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _platform(from_item(item))

    def get(self, platform_id: str) -> Platform | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": f"PLATFORM#{platform_id}", "sk": "PLATFORM"}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _platform(from_item(item))

    def list_keys(self, platform_id: str) -> list[StoredKey]:
        """A scan: the table holds one item per platform and key, and only operators list keys."""
        return [
            StoredKey(
                platform_id=values["platform_id"],
                key_hash=values["pk"].removeprefix(KEY_PREFIX),
                # Keys from before key_created_at was recorded are the platform's first key.
                created_at=values.get("key_created_at") or values["created_at"],
            )
            for values in self._scan("KEY", platform_id)
        ]

    def add_key(self, platform: Platform, key: StoredKey) -> None:
        aws_clients.dynamodb().transact_write_items(
            TransactItems=[
                {  # the platform still exists (not removed while the key was being made)
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": to_item({"pk": f"PLATFORM#{platform.platform_id}", "sk": "PLATFORM"}),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(_key_item(platform, key.key_hash, key.created_at.isoformat())),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def delete_keys(self, keys: list[StoredKey]) -> None:
        client = aws_clients.dynamodb()
        for key in keys:
            client.delete_item(TableName=self._table, Key=to_item({"pk": f"{KEY_PREFIX}{key.key_hash}", "sk": "KEY"}))

    def _scan(self, sk: str, platform_id: str | None = None) -> list[dict[str, Any]]:
        condition, values = "sk = :sk", {":sk": {"S": sk}}
        if platform_id is not None:
            condition += " AND platform_id = :p"
            values[":p"] = {"S": platform_id}
        found: list[dict[str, Any]] = []
        paginator = aws_clients.dynamodb().get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table, FilterExpression=condition, ExpressionAttributeValues=values
        ):
            found.extend(from_item(item) for item in page.get("Items", []))
        return found

    def list(self) -> list[Platform]:  # last: in the class body it shadows the builtin
        platforms = [_platform(values) for values in self._scan("PLATFORM")]
        return sorted(platforms, key=lambda p: p.created_at)


def _key_item(platform: Platform, key_hash: str, key_created_at: str) -> dict[str, Any]:
    return {
        "pk": f"{KEY_PREFIX}{key_hash}",
        "sk": "KEY",
        **platform.model_dump(mode="json"),
        "key_created_at": key_created_at,
    }


def _platform(values: dict[str, Any]) -> Platform:
    return Platform(platform_id=values["platform_id"], name=values["name"], created_at=values["created_at"])
