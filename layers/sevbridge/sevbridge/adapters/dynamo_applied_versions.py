"""Which version of a document was last transferred: read by key from the push mappings (the `map`
attribute of the ledger's document items `DOC#<kind>#<source id>`), 100 keys per BatchGetItem."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.adapters.dynamo_mappings import MAP_ATTR, mapping_row, mapping_sk
from sevbridge.domain.push.ports import MappingKind


class DynamoAppliedVersions:
    """Implements sevbridge.domain.backfill.ports.AppliedVersions."""

    def __init__(self, ledger_table: str) -> None:
        self._table = ledger_table

    def applied(self, platform_id: str, tenant_id: str, kind: str, source_ids: Sequence[str]) -> dict[str, datetime]:
        pk = tenant_pk(platform_id, tenant_id)
        unique = list(dict.fromkeys(source_ids))
        prefix = mapping_sk(kind, "")
        found: dict[str, datetime] = {}
        client = aws_clients.dynamodb()
        for start in range(0, len(unique), 100):
            keys: list[Any] = [to_item({"pk": pk, "sk": mapping_sk(kind, sid)}) for sid in unique[start : start + 100]]
            request: Any = {
                self._table: {
                    "Keys": keys,
                    "ProjectionExpression": "sk, #m",
                    "ExpressionAttributeNames": {"#m": MAP_ATTR},
                    "ConsistentRead": True,
                }
            }
            while request:
                response = client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    values = from_item(item)
                    if MAP_ATTR not in values:
                        continue  # a document not pushed yet
                    row = mapping_row(
                        cast("MappingKind", kind), str(values["sk"]).removeprefix(prefix), str(values[MAP_ATTR])
                    )
                    # Only rows of a push that reached its end: not a create in flight, not a seen-only row.
                    if row.sevdesk_id and row.version and row.complete and not row.seen_only:
                        found[row.source_id] = row.version
                request = response.get("UnprocessedKeys") or None
        return found
