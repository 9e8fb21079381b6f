"""Offboarding (C5) across stores: the tenant's backfill documents in S3, then its items in DynamoDB.

The S3 objects go first: the keys an operator named (a console event's `object_key`) are only known
from the tenant's backfill jobs, which the DynamoDB erase deletes. If S3 fails, nothing in DynamoDB is
erased yet and offboarding again finds everything it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from sevbridge.adapters.dynamo_eraser import DynamoTenantEraser

JOBS_PAGE = 100


class TenantEraserWithBackfills:
    """Implements sevbridge.domain.ports.TenantEraser."""

    def __init__(
        self,
        tables: Sequence[str],
        *,
        jobs_table: str,
        backfill_bucket: str,
        first: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._tables = DynamoTenantEraser(tables, first=first)
        self._jobs_table, self._bucket = jobs_table, backfill_bucket

    def erase(self, platform_id: str, tenant_id: str) -> int:
        # Imported here: the API builds this eraser with every connection service, offboarding is rare.
        from sevbridge.adapters.dynamo_backfills import DynamoBackfillStore
        from sevbridge.adapters.s3_backfill_objects import S3BackfillObjects

        jobs = DynamoBackfillStore(self._jobs_table)
        keys: set[str] = set()
        cursor: str | None = None
        while True:
            page = jobs.list_jobs(platform_id, tenant_id, limit=JOBS_PAGE, cursor=cursor)
            keys.update(key for job in page.items for key in job.objects)
            cursor = page.next_cursor
            if cursor is None:
                break
        objects = S3BackfillObjects(self._bucket).erase_tenant(platform_id, tenant_id, keys)
        return objects + self._tables.erase(platform_id, tenant_id)
