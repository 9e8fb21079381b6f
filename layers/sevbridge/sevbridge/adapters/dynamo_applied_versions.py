"""Which version of a document was last transferred: read by key from the push mappings
(MAP#<kind>#<source id> in the tenants table), 100 keys per BatchGetItem."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item


class DynamoAppliedVersions:
    """Implements sevbridge.domain.backfill.ports.AppliedVersions."""

    def __init__(self, table: str) -> None:
        self._table = table

    def applied(self, platform_id: str, tenant_id: str, kind: str, source_ids: Sequence[str]) -> dict[str, datetime]:
        pk = tenant_pk(platform_id, tenant_id)
        unique = list(dict.fromkeys(source_ids))
        found: dict[str, datetime] = {}
        client = aws_clients.dynamodb()
        for start in range(0, len(unique), 100):
            keys: list[Any] = [to_item({"pk": pk, "sk": f"MAP#{kind}#{sid}"}) for sid in unique[start : start + 100]]
            request: Any = {
                self._table: {
                    "Keys": keys,
                    "ProjectionExpression": "source_id, sevdesk_id, version, complete, seen_only",
                    "ConsistentRead": True,
                }
            }
            while request:
                response = client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    row = from_item(item)
                    # Only rows of a push that reached its end: not a create in flight, not a seen-only row.
                    reached = row.get("sevdesk_id") and row.get("version") and row.get("complete", True)
                    if reached and not row.get("seen_only"):
                        found[str(row["source_id"])] = datetime.fromisoformat(str(row["version"]))
                request = response.get("UnprocessedKeys") or None
        return found
