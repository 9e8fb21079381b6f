"""Platforms and their hashed API keys in the platforms table."""

from __future__ import annotations

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, to_item
from sevbridge.domain.platform import Platform


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
                        "Item": to_item({"pk": f"KEY#{key_hash}", "sk": "KEY", **data}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def find_by_key_hash(self, key_hash: str) -> Platform | None:
        item = (
            aws_clients.dynamodb()
            .get_item(TableName=self._table, Key=to_item({"pk": f"KEY#{key_hash}", "sk": "KEY"}))
            .get("Item")
        )
        if item is None:
            return None
        values = from_item(item)
        return Platform(platform_id=values["platform_id"], name=values["name"], created_at=values["created_at"])

    def list(self) -> list[Platform]:
        platforms: list[Platform] = []
        paginator = aws_clients.dynamodb().get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table,
            FilterExpression="sk = :sk",
            ExpressionAttributeValues={":sk": {"S": "PLATFORM"}},
        ):
            for item in page.get("Items", []):
                values = from_item(item)
                platforms.append(
                    Platform(
                        platform_id=values["platform_id"],
                        name=values["name"],
                        created_at=values["created_at"],
                    )
                )
        return sorted(platforms, key=lambda p: p.created_at)
