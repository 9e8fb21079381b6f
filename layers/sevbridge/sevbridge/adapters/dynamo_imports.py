"""Imports in the jobs table, under the tenant's partition (pk = T#<platform>#<tenant>):

    sk "RUN#<run id>"                    a run (JSON doc, revision; TTL after RUN_DAYS)
    sk "IMPORT"                          the tenant's import state: watermarks, health, active run
    sk "IX#<kind>#<sevDesk id>"          index: what was last reported for a record (compact: update
                                         time, content hash, run, when observed, platform id)
    sk "SEEN#<run id>#<kind>#<page>"     ids a full pass read, one item per page (TTL after SEEN_DAYS)

Runs and the state are written conditionally on their revision (one worker per tenant at a time;
the condition makes a mistake loud instead of silent).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk, to_item
from sevbridge.adapters.dynamo_outbox import StateConditionFailed, write_with_notices
from sevbridge.domain.errors import ConcurrentUpdate, InvalidInput
from sevbridge.domain.notify.notices import NO_NOTICES, Notices
from sevbridge.domain.pull.records import ImportKind
from sevbridge.domain.pull.runs import ImportRun, IndexEntry, RunPage
from sevbridge.domain.pull.state import TenantImportState

RUN_DAYS = 90
SEEN_DAYS = 14
STATE_SK = "IMPORT"
_RUN_ID = re.compile(r"^im_[0-9a-f]{14,40}$")


def _run_sk(run_id: str) -> str:
    return f"RUN#{run_id}"


def _index_sk(kind: ImportKind, sevdesk_id: str) -> str:
    return f"IX#{kind.value}#{sevdesk_id}"


def _seen_prefix(run_id: str, kind: ImportKind) -> str:
    return f"SEEN#{run_id}#{kind.value}#"


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _entry_item(pk: str, entry: IndexEntry) -> dict[str, Any]:
    return to_item(
        {
            "pk": pk,
            "sk": _index_sk(entry.kind, entry.sevdesk_id),
            "u": entry.update.isoformat() if entry.update else None,
            "h": entry.record_hash,
            "r": entry.run_id,
            "o": entry.observed_at.isoformat(),
            "s": entry.source_id,
            "e": entry.email,
            "p": entry.phone,
        }
    )


def _entry(kind: ImportKind, item: dict[str, Any]) -> IndexEntry:
    sevdesk_id = item["sk"]["S"].split("#", 2)[2]
    update = item.get("u", {}).get("S")
    return IndexEntry(
        kind=kind,
        sevdesk_id=sevdesk_id,
        update=datetime.fromisoformat(update) if update else None,
        record_hash=item["h"]["S"],
        run_id=item["r"]["S"],
        observed_at=datetime.fromisoformat(item["o"]["S"]),
        source_id=item.get("s", {}).get("S"),
        email=item.get("e", {}).get("S"),
        phone=item.get("p", {}).get("S"),
    )


class DynamoImportStore:
    """Implements sevbridge.domain.pull.ports.ImportStore."""

    def __init__(self, table: str, outbox_table: str | None = None) -> None:
        self._table = table
        self._outbox_table = outbox_table  # where `finish` writes notifications (the Outbox table)

    # -- versioned documents (runs, state) ----------------------------------------------------------

    def _doc_put(
        self, pk: str, sk: str, doc: str, revision: int, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The conditional Put of a versioned document (as used alone and inside a transaction)."""
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if revision == 0
            else {
                "ConditionExpression": "revision = :seen",
                "ExpressionAttributeValues": {":seen": {"N": str(revision)}},
            }
        )
        item = to_item({"pk": pk, "sk": sk, "doc": doc, "revision": revision + 1, **(extra or {})})
        return {"TableName": self._table, "Item": item, **condition}

    def _run_put(self, run: ImportRun) -> dict[str, Any]:
        return self._doc_put(
            tenant_pk(run.platform_id, run.tenant_id),
            _run_sk(run.run_id),
            run.model_dump_json(exclude={"revision"}),
            run.revision,
            self._run_extra(run),
        )

    def _state_put(self, state: TenantImportState) -> dict[str, Any]:
        return self._doc_put(
            tenant_pk(state.platform_id, state.tenant_id),
            STATE_SK,
            state.model_dump_json(exclude={"revision"}),
            state.revision,
        )

    def _get_doc(self, pk: str, sk: str) -> str | None:
        item = (
            aws_clients.dynamodb()
            .get_item(TableName=self._table, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True)
            .get("Item")
        )
        return None if item is None else str(item["doc"]["S"])

    def _run_extra(self, run: ImportRun) -> dict[str, Any]:
        return {"state": run.state.value, "expires_at": int((run.created_at + timedelta(days=RUN_DAYS)).timestamp())}

    def create_run(self, run: ImportRun) -> ImportRun:
        try:
            aws_clients.dynamodb().put_item(**self._run_put(run.model_copy(update={"revision": 0})))
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            existing = self.get_run(run.platform_id, run.tenant_id, run.run_id)
            assert existing is not None
            return existing
        run.revision = 1
        return run

    def get_run(self, platform_id: str, tenant_id: str, run_id: str) -> ImportRun | None:
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": _run_sk(run_id)}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _run(item)

    def save_run(self, run: ImportRun) -> ImportRun:
        """Bumps the revision of `run` itself (see ImportRun.touched) and returns it."""
        try:
            aws_clients.dynamodb().put_item(**self._run_put(run))
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConcurrentUpdate(f"import {run.run_id} changed meanwhile") from None
            raise
        run.revision += 1
        return run

    def list_runs(self, platform_id: str, tenant_id: str, *, limit: int, cursor: str | None) -> RunPage:
        pk = tenant_pk(platform_id, tenant_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :run)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":run": {"S": "RUN#"}},
            "ScanIndexForward": False,  # newest first (run ids sort by creation)
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": _run_sk(_decode_cursor(cursor))}}
        response = aws_clients.dynamodb().query(**kwargs)
        items = [_run(item) for item in response.get("Items", [])]
        more = "LastEvaluatedKey" in response and len(items) == limit
        return RunPage(items=items, next_cursor=_encode_cursor(items[-1].run_id) if more and items else None)

    def get_state(self, platform_id: str, tenant_id: str) -> TenantImportState:
        pk = tenant_pk(platform_id, tenant_id)
        item = (
            aws_clients.dynamodb()
            .get_item(TableName=self._table, Key=to_item({"pk": pk, "sk": STATE_SK}), ConsistentRead=True)
            .get("Item")
        )
        if item is None:
            return TenantImportState(platform_id=platform_id, tenant_id=tenant_id)
        state = TenantImportState.model_validate_json(item["doc"]["S"])
        return state.model_copy(update={"revision": int(item["revision"]["N"])})

    def save_state(self, state: TenantImportState) -> TenantImportState:
        try:
            aws_clients.dynamodb().put_item(**self._state_put(state))
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConcurrentUpdate(f"the import state of tenant '{state.tenant_id}' changed meanwhile") from None
            raise
        return state.model_copy(update={"revision": state.revision + 1})

    def finish(
        self, run: ImportRun, state: TenantImportState, notices: Notices = NO_NOTICES
    ) -> tuple[ImportRun, TenantImportState, bool]:
        """The one place a run ends. Without notices: two conditional puts, the state first (re-applying
        it on a redelivery is harmless). With notices: the state, the run and the outbox items in one
        TransactWriteItems (write_with_notices), so a run never ends without its notification."""
        if not notices:
            stored_state = self.save_state(state)
            return self.save_run(run), stored_state, False
        if self._outbox_table is None:
            raise RuntimeError("DynamoImportStore was built without the outbox table")
        items = [{"Put": self._state_put(state)}, {"Put": self._run_put(run)}]
        try:
            written = write_with_notices(self._outbox_table, items, notices)
        except StateConditionFailed as exc:
            what = "import state of the tenant" if exc.index == 0 else f"import {run.run_id}"
            raise ConcurrentUpdate(f"the {what} changed meanwhile") from None
        run.revision += 1
        return run, state.model_copy(update={"revision": state.revision + 1}), written

    # -- the index ------------------------------------------------------------------------------------

    def index_get(
        self, platform_id: str, tenant_id: str, kind: ImportKind, ids: Sequence[str]
    ) -> dict[str, IndexEntry]:
        pk = tenant_pk(platform_id, tenant_id)
        found: dict[str, IndexEntry] = {}
        client = aws_clients.dynamodb()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 100):
            keys = [{"pk": {"S": pk}, "sk": {"S": _index_sk(kind, i)}} for i in unique[start : start + 100]]
            request: Any = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    entry = _entry(kind, item)
                    found[entry.sevdesk_id] = entry
                request = response.get("UnprocessedKeys") or None
        return found

    def index_all(self, platform_id: str, tenant_id: str, kind: ImportKind) -> dict[str, IndexEntry]:
        found: dict[str, IndexEntry] = {}
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ix)",
            ExpressionAttributeValues={
                ":pk": {"S": tenant_pk(platform_id, tenant_id)},
                ":ix": {"S": f"IX#{kind.value}#"},
            },
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                entry = _entry(kind, item)
                found[entry.sevdesk_id] = entry
        return found

    def index_apply(
        self,
        platform_id: str,
        tenant_id: str,
        puts: Sequence[IndexEntry],
        deletes: Sequence[tuple[ImportKind, str]],
    ) -> None:
        pk = tenant_pk(platform_id, tenant_id)
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": _entry_item(pk, e)}} for e in puts]
        requests += [
            {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": _index_sk(kind, i)}}}} for kind, i in deletes
        ]
        self._batch_write(requests)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        client = aws_clients.dynamodb()
        for start in range(0, len(requests), 25):
            pending: Any = {self._table: requests[start : start + 25]}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None

    # -- full passes ----------------------------------------------------------------------------------

    def add_seen(self, run: ImportRun, kind: ImportKind, page: int, ids: Sequence[str]) -> None:
        expires = int((run.created_at + timedelta(days=SEEN_DAYS)).timestamp())
        aws_clients.dynamodb().put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "pk": tenant_pk(run.platform_id, run.tenant_id),
                    "sk": f"{_seen_prefix(run.run_id, kind)}{page:09d}",
                    "ids": json.dumps(list(ids), separators=(",", ":")),
                    "expires_at": expires,
                }
            ),
        )

    def seen(self, run: ImportRun, kind: ImportKind) -> set[str]:
        found: set[str] = set()
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :seen)",
            ExpressionAttributeValues={
                ":pk": {"S": tenant_pk(run.platform_id, run.tenant_id)},
                ":seen": {"S": _seen_prefix(run.run_id, kind)},
            },
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                found.update(json.loads(item["ids"]["S"]))
        return found


def _run(item: dict[str, Any]) -> ImportRun:
    run = ImportRun.model_validate_json(item["doc"]["S"])
    return run.model_copy(update={"revision": int(item["revision"]["N"])})


def _encode_cursor(run_id: str) -> str:
    return base64.urlsafe_b64encode(run_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        run_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        run_id = ""
    if not _RUN_ID.fullmatch(run_id):
        raise InvalidInput(
            "cursor is not valid", details=[{"field": "query.cursor", "problem": "not a cursor from this API"}]
        )
    return run_id
