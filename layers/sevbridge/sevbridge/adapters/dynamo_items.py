"""Small helpers shared by the DynamoDB stores: key layout and (de)serialisation.

Key convention (docs/architecture.md): every item a tenant owns, in every table, has
pk = "T#<platform_id>#<tenant_id>", so offboarding (C5) is one query per table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def tenant_pk(platform_id: str, tenant_id: str) -> str:
    return f"T#{platform_id}#{tenant_id}"


def to_item(values: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}  # type: ignore[misc]


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}
