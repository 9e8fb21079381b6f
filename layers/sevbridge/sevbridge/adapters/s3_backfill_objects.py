"""Backfill documents as NDJSON objects in the backfill bucket: inline pages and uploads.

Keys: backfills/<platform>/<tenant>/<job>/page-<n>.ndjson and …/upload.ndjson. Read as streams in
byte ranges, never whole: a 100 000-invoice history is split and read chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.domain.backfill.jobs import BackfillJob

READ_BLOCK = 256 * 1024


class S3BackfillObjects:
    """Implements sevbridge.domain.backfill.ports.DocumentObjects."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    @staticmethod
    def _prefix(job: BackfillJob) -> str:
        return f"backfills/{job.platform_id}/{job.tenant_id}/{job.job_id}"

    def page_key(self, job: BackfillJob, page: int) -> str:
        return f"{self._prefix(job)}/page-{page:05d}.ndjson"

    def upload_key(self, job: BackfillJob) -> str:
        return f"{self._prefix(job)}/upload.ndjson"

    def put_page(self, key: str, lines: Sequence[bytes]) -> None:
        aws_clients.s3().put_object(
            Bucket=self._bucket, Key=key, Body=b"\n".join(lines) + b"\n", ContentType="application/x-ndjson"
        )

    def upload_file(self, key: str, path: Path) -> None:
        """Operators (CLI): a local file, streamed in parts."""
        aws_clients.s3().upload_file(str(path), self._bucket, key, ExtraArgs={"ContentType": "application/x-ndjson"})

    def upload_url(self, key: str, *, expires_in: int) -> str:
        url: str = aws_clients.s3().generate_presigned_url(
            "put_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def exists(self, key: str) -> bool:
        try:
            aws_clients.s3().head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def lines(self, key: str, *, start: int, end: int | None = None) -> Iterator[tuple[int, int, bytes]]:
        if end is not None and end <= start:
            return
        byte_range = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            body = aws_clients.s3().get_object(Bucket=self._bucket, Key=key, Range=byte_range)["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "InvalidRange":
                return  # nothing after `start` (an empty object)
            raise
        position, pending = start, b""
        try:
            for block in body.iter_chunks(READ_BLOCK):
                pending += block
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield position, position + len(line) + 1, line.rstrip(b"\r")
                    position += len(line) + 1
            if pending:
                yield position, position + len(pending), pending.rstrip(b"\r")
        finally:
            body.close()

    def erase_tenant(self, platform_id: str, tenant_id: str, keys: Iterable[str] = ()) -> int:
        """C5: deletes every object under the tenant's prefix and `keys` (objects its jobs named, e.g. an
        operator's upload given as a console event's object_key). Returns how many were deleted."""
        client = aws_clients.s3()
        found = set(keys)
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=f"backfills/{platform_id}/{tenant_id}/"):
            found.update(str(o["Key"]) for o in page.get("Contents", []))
        ordered = sorted(found)
        deleted = 0
        for start in range(0, len(ordered), 1000):  # DeleteObjects takes up to 1000 keys
            batch = [{"Key": key} for key in ordered[start : start + 1000]]
            answer = client.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})  # type: ignore[typeddict-item]
            errors = answer.get("Errors", [])
            if errors:
                # Raised, so the DynamoDB erase that follows does not run: offboarding again finds the jobs.
                raise RuntimeError(f"could not delete {len(errors)} backfill objects: {errors[0].get('Code')}")
            deleted += len(batch)
        return deleted
