"""Backfill jobs in the jobs table (pk = "T#<platform>#<tenant>"):

    sk "BACKFILL#<job id>"            the job: `doc` (its settings and state, JSON, revisioned), and
                                      numbers moved without reading it: the counters (ADD per chunk),
                                      `total` / `chunks` / `split_done` (set by the split)
    sk "BFCHUNK#<job id>#<seq>"       one recorded chunk: its tallies and the lines that did not end
                                      transferred (failed, skipped, invalid); at most one row per chunk

Write cost per chunk of 50 documents: one transaction of two items (the chunk row and the ADD).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk, to_item
from sevbridge.adapters.dynamo_outbox import StateConditionFailed, write_with_notices
from sevbridge.domain.backfill.jobs import (
    JOB_RETENTION,
    BackfillJob,
    ChunkResult,
    Counters,
    ItemPage,
    ItemResult,
    ItemStatus,
    JobPage,
)
from sevbridge.domain.errors import ConcurrentUpdate, InvalidInput
from sevbridge.domain.notify.notices import Notices

_JOB_ID = re.compile(r"^bf_[0-9a-f]{13,40}$")
_COUNTERS = tuple(Counters.model_fields)
# Not part of `doc`: written by ADD / the split, so a save never overwrites them.
_NUMBERS = ("counters", "total", "chunks", "split_done", "chunks_done", "retries_left", "revision")


def _job_sk(job_id: str) -> str:
    return f"BACKFILL#{job_id}"


def _chunk_sk(job_id: str, seq: int) -> str:
    return f"BFCHUNK#{job_id}#{seq:07d}"


def _expires(at: datetime) -> int:
    return int((at + JOB_RETENTION).timestamp())


class DynamoBackfillStore:
    """Implements sevbridge.domain.backfill.ports.BackfillStore."""

    def __init__(self, table: str, *, outbox_table: str | None = None) -> None:
        self._table = table
        self._outbox_table = outbox_table

    # --- jobs ----------------------------------------------------------------------------------------
    def create(self, job: BackfillJob) -> BackfillJob:
        item = {
            "pk": tenant_pk(job.platform_id, job.tenant_id),
            "sk": _job_sk(job.job_id),
            "doc": _doc(job),
            "revision": 1,
            "chunks_done": 0,
            **{f"c_{name}": 0 for name in _COUNTERS},
            "expires_at": _expires(job.created_at),
        }
        aws_clients.dynamodb().put_item(
            TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )
        return job.model_copy(update={"revision": 1})

    def get(self, platform_id: str, tenant_id: str, job_id: str) -> BackfillJob | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": _job_sk(job_id)}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _job(item)

    def list_jobs(self, platform_id: str, tenant_id: str, *, limit: int, cursor: str | None) -> JobPage:
        pk = tenant_pk(platform_id, tenant_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :job)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":job": {"S": "BACKFILL#"}},
            "ScanIndexForward": False,  # newest first: job ids sort by creation
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": _job_sk(_decode_job_cursor(cursor))}}
        response = aws_clients.dynamodb().query(**kwargs)
        jobs = [_job(item) for item in response.get("Items", [])]
        more = "LastEvaluatedKey" in response and len(jobs) == limit
        return JobPage(items=jobs, next_cursor=_encode(jobs[-1].job_id) if more and jobs else None)

    def save(self, job: BackfillJob, notices: Notices | None = None) -> BackfillJob:
        update = {
            "TableName": self._table,
            "Key": to_item({"pk": tenant_pk(job.platform_id, job.tenant_id), "sk": _job_sk(job.job_id)}),
            "UpdateExpression": "SET #doc = :doc, revision = :next",
            "ConditionExpression": "revision = :rev",
            "ExpressionAttributeNames": {"#doc": "doc"},
            "ExpressionAttributeValues": to_item({":doc": _doc(job), ":next": job.revision + 1, ":rev": job.revision}),
        }
        if notices:
            if self._outbox_table is None:
                raise RuntimeError("DynamoBackfillStore was built without the outbox table")
            try:
                write_with_notices(self._outbox_table, [{"Update": update}], notices)
            except StateConditionFailed:
                raise ConcurrentUpdate(f"backfill {job.job_id} changed meanwhile") from None
        else:
            try:
                aws_clients.dynamodb().update_item(**update)  # type: ignore[arg-type]
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    raise ConcurrentUpdate(f"backfill {job.job_id} changed meanwhile") from None
                raise
        return job.model_copy(update={"revision": job.revision + 1})

    def split_progress(self, job: BackfillJob, *, total: int, chunks: int | None) -> None:
        expression, values = "SET #total = :total", {":total": total}
        if chunks is not None:
            expression += ", chunks = :chunks, split_done = :true"
            values |= {":chunks": chunks, ":true": True}
        aws_clients.dynamodb().update_item(
            TableName=self._table,
            Key=to_item({"pk": tenant_pk(job.platform_id, job.tenant_id), "sk": _job_sk(job.job_id)}),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#total": "total"},
            ExpressionAttributeValues=to_item(values),
        )

    def expect_retries(self, job: BackfillJob, chunks: int) -> None:
        aws_clients.dynamodb().update_item(
            TableName=self._table,
            Key=to_item({"pk": tenant_pk(job.platform_id, job.tenant_id), "sk": _job_sk(job.job_id)}),
            UpdateExpression="SET retries_left = :n",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":n": chunks}),
        )

    # --- chunks --------------------------------------------------------------------------------------
    def get_chunk(self, platform_id: str, tenant_id: str, job_id: str, seq: int) -> ChunkResult | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": _chunk_sk(job_id, seq)}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _chunk(item)

    def record_chunk(self, job: BackfillJob, chunk: ChunkResult, previous: ChunkResult | None) -> bool:
        pk = tenant_pk(job.platform_id, job.tenant_id)
        delta = chunk.counters.minus(previous.counters) if previous else chunk.counters
        stored = chunk.model_copy(update={"revision": (previous.revision if previous else 0) + 1})
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item(
                {
                    "pk": pk,
                    "sk": _chunk_sk(job.job_id, chunk.seq),
                    "doc": stored.model_dump_json(exclude_defaults=True),
                    "revision": stored.revision,
                    **{f"n_{s.value}": sum(1 for i in chunk.items if i.status is s) for s in ItemStatus},
                    "expires_at": _expires(job.created_at),
                }
            ),
        }
        if previous is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "revision = :rev"
            put["ExpressionAttributeValues"] = to_item({":rev": previous.revision})
        adds = {f"c_{name}": getattr(delta, name) for name in _COUNTERS}
        adds["chunks_done"] = 0 if previous else 1
        if previous is not None:
            adds["retries_left"] = -1  # recorded again: a retry-failed chunk
        names = {f"#{k}": k for k in adds}
        update = {
            "TableName": self._table,
            "Key": to_item({"pk": pk, "sk": _job_sk(job.job_id)}),
            "UpdateExpression": "ADD " + ", ".join(f"#{k} :{k}" for k in adds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item({f":{k}": v for k, v in adds.items()}),
        }
        try:
            aws_clients.dynamodb().transact_write_items(TransactItems=[{"Put": put}, {"Update": update}])  # type: ignore[typeddict-item]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False  # another delivery recorded this chunk first
            raise
        return True

    def chunks_with(self, platform_id: str, tenant_id: str, job_id: str, status: ItemStatus) -> list[ChunkResult]:
        return [_chunk(item) for item in self._chunk_items(platform_id, tenant_id, job_id, status, None)[0]]

    def items(
        self,
        platform_id: str,
        tenant_id: str,
        job_id: str,
        *,
        status: ItemStatus | None,
        limit: int,
        cursor: str | None,
    ) -> ItemPage:
        after = _decode_item_cursor(cursor) if cursor else None  # (chunk seq, items of it already listed)
        found: list[ItemResult] = []
        start_seq, skip = after if after else (None, 0)
        exclusive = None
        if start_seq is not None and start_seq > 0:
            exclusive = start_seq - 1
        while True:
            rows, last = self._chunk_items(platform_id, tenant_id, job_id, status, exclusive, page=50)
            for row in rows:
                chunk = _chunk(row)
                matching = [i for i in chunk.items if status is None or i.status is status]
                if chunk.seq == start_seq:
                    matching = matching[skip:]
                    offset = skip
                else:
                    offset = 0
                for n, item in enumerate(matching):
                    if len(found) == limit:
                        return ItemPage(items=found, next_cursor=_encode(f"{chunk.seq}:{offset + n}"))
                    found.append(item)
            if last is None:
                return ItemPage(items=found)
            exclusive = last

    def _chunk_items(
        self,
        platform_id: str,
        tenant_id: str,
        job_id: str,
        status: ItemStatus | None,
        after_seq: int | None,
        page: int | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Chunk rows holding items of `status` (any, with None), in order after chunk `after_seq`.
        With `page`, one query page and the seq to continue after (None at the end)."""
        pk = tenant_pk(platform_id, tenant_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": pk},
                ":prefix": {"S": f"BFCHUNK#{job_id}#"},
                ":zero": {"N": "0"},
            },
            "ConsistentRead": True,
        }
        if status is None:
            kwargs["FilterExpression"] = " OR ".join(f"n_{s.value} > :zero" for s in ItemStatus)
        else:
            kwargs["FilterExpression"] = f"n_{status.value} > :zero"
        if page:
            kwargs["Limit"] = page
        if after_seq is not None:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": _chunk_sk(job_id, after_seq)}}
        rows: list[dict[str, Any]] = []
        client = aws_clients.dynamodb()
        while True:
            response = client.query(**kwargs)
            rows += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if last is None:
                return rows, None
            if page:
                return rows, int(last["sk"]["S"].rsplit("#", 1)[1])
            kwargs["ExclusiveStartKey"] = last


def _doc(job: BackfillJob) -> str:
    return job.model_dump_json(exclude=set(_NUMBERS))


def _number(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else None


def _job(item: dict[str, Any]) -> BackfillJob:
    data = json.loads(item["doc"]["S"])
    counters = Counters(**{name: _number(item, f"c_{name}") or 0 for name in _COUNTERS})
    split_done = item.get("split_done", {}).get("BOOL", False)
    return BackfillJob.model_validate(
        data
        | {
            "counters": counters,
            "total": _number(item, "total"),
            "chunks": _number(item, "chunks"),
            "split_done": split_done,
            "chunks_done": _number(item, "chunks_done") or 0,
            "retries_left": _number(item, "retries_left") or 0,
            "revision": _number(item, "revision") or 0,
        }
    )


def _chunk(item: dict[str, Any]) -> ChunkResult:
    return ChunkResult.model_validate_json(item["doc"]["S"]).model_copy(
        update={"revision": _number(item, "revision") or 0}
    )


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "cursor is not valid", details=[{"field": "query.cursor", "problem": "not a cursor from this API"}]
    )


def _decode_job_cursor(cursor: str) -> str:
    job_id = _decode(cursor)
    if not _JOB_ID.fullmatch(job_id):
        raise _bad_cursor()
    return job_id


def _decode_item_cursor(cursor: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,7}):(\d{1,4})", _decode(cursor))
    if not match:
        raise _bad_cursor()
    return int(match[1]), int(match[2])
