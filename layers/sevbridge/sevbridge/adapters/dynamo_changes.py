"""The change feed in the changes table: one partition per tenant (pk = T#<platform>#<tenant>).

    sk "HEAD"          hw (published high-water seq), gen (feed generation), owner/until (writer lease)
    sk "C#<seq:016>"   one change: seq, kind, writer, lease_until, doc (JSON), expires_at (TTL)

Writers take turns (lease on HEAD, conditional, 60 s): reserve seqs hw+1..hw+n, put the items, then
publish by moving hw — conditional on still holding a live lease. Each item carries its writer's lease
expiry and may only replace an item of a writer whose lease ran out (or its own): a writer that stalled
past its lease can neither overwrite what a later writer is about to publish nor block it. Readers read
HEAD first and never go past hw, so nothing that commits late can be skipped by a cursor.

Cursors are opaque: base64 of "v1:<gen>:<seq>". `gen` changes when a tenant's feed is created anew
(after offboarding), so an old cursor gets 410 instead of silently skipping the new feed's start.
A gap between the cursor and the first item means changes expired (TTL): 410 as well.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk, to_item
from sevbridge.domain.errors import InvalidInput, TemporarilyUnavailable
from sevbridge.domain.pull.ports import CursorExpired, FeedPage, LeaseLost, Reservation
from sevbridge.domain.pull.records import CHANGE_RETENTION, Change, ChangeDraft, ImportKind

HEAD = "HEAD"
LEASE_MS = 60_000
LEASE_WAIT_SECONDS = 15.0
SCAN_BUDGET = 1000  # items looked at per read (a kind filter skips the others)
_CURSOR = re.compile(r"^v1:([0-9a-f]{0,16}):([0-9]{1,16})$")


def _sk(seq: int) -> str:
    return f"C#{seq:016d}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def encode_cursor(gen: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{gen}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise InvalidInput(
            "after is not a cursor of this change feed",
            details=[{"field": "query.after", "problem": "not a cursor from this API"}],
        )
    return match.group(1), int(match.group(2))


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


class DynamoChangeFeed:
    """Implements sevbridge.domain.pull.ports.ChangeFeed."""

    def __init__(self, table: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table = table
        self._sleep = sleep

    def _key(self, platform_id: str, tenant_id: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(platform_id, tenant_id)}, "sk": {"S": sk}}

    # -- writers ------------------------------------------------------------------------------------

    def reserve(self, platform_id: str, tenant_id: str, writer: str, count: int) -> Reservation:
        deadline = time.monotonic() + LEASE_WAIT_SECONDS
        delay = 0.05
        while True:
            now = _now_ms()
            try:
                head = aws_clients.dynamodb().update_item(
                    TableName=self._table,
                    Key=self._key(platform_id, tenant_id, HEAD),
                    UpdateExpression="SET #owner = :me, #until = :until, #gen = if_not_exists(#gen, :gen), "
                    "#hw = if_not_exists(#hw, :zero)",
                    ConditionExpression="attribute_not_exists(#owner) OR #until < :now OR #owner = :me",
                    ExpressionAttributeNames={"#owner": "owner", "#until": "until", "#gen": "gen", "#hw": "hw"},
                    ExpressionAttributeValues={
                        ":me": {"S": writer},
                        ":until": {"N": str(now + LEASE_MS)},
                        ":now": {"N": str(now)},
                        ":gen": {"S": secrets.token_hex(4)},
                        ":zero": {"N": "0"},
                    },
                    ReturnValues="ALL_NEW",
                )["Attributes"]
            except ClientError as exc:
                if not _conditional_failed(exc):
                    raise
                if time.monotonic() > deadline:
                    raise TemporarilyUnavailable("another writer holds the tenant's change feed") from None
                self._sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            hw = int(head["hw"]["N"])
            return Reservation(writer=writer, seq_from=hw + 1, seq_to=hw + count, lease_until_ms=now + LEASE_MS)

    def commit(self, platform_id: str, tenant_id: str, reservation: Reservation, drafts: Sequence[ChangeDraft]) -> None:
        if len(drafts) != reservation.seq_to - reservation.seq_from + 1:
            raise ValueError("the drafts do not fill the reservation")
        client = aws_clients.dynamodb()
        recorded_at = datetime.now(UTC)
        expires = int((recorded_at + CHANGE_RETENTION).timestamp())
        for seq, draft in enumerate(drafts, start=reservation.seq_from):
            change = Change(**draft.model_dump(), seq=seq, recorded_at=recorded_at)
            now = _now_ms()
            try:
                client.put_item(
                    TableName=self._table,
                    Item=to_item(
                        {
                            "pk": tenant_pk(platform_id, tenant_id),
                            "sk": _sk(seq),
                            "seq": seq,
                            "kind": draft.kind.value,
                            "writer": reservation.writer,
                            # A writer whose lease ran out leaves items anyone may overwrite.
                            "lease_until": reservation.lease_until_ms,
                            "doc": change.model_dump_json(),
                            "expires_at": expires,
                        }
                    ),
                    ConditionExpression="attribute_not_exists(sk) OR writer = :me OR lease_until < :now",
                    ExpressionAttributeValues={":me": {"S": reservation.writer}, ":now": {"N": str(now)}},
                )
            except ClientError as exc:
                if _conditional_failed(exc):
                    raise LeaseLost(f"seq {seq} belongs to another writer now") from None
                raise
        try:
            client.update_item(
                TableName=self._table,
                Key=self._key(platform_id, tenant_id, HEAD),
                UpdateExpression="SET #hw = :to REMOVE #owner, #until",
                ConditionExpression="#owner = :me AND #hw = :before AND #until >= :now",
                ExpressionAttributeNames={"#owner": "owner", "#until": "until", "#hw": "hw"},
                ExpressionAttributeValues={
                    ":me": {"S": reservation.writer},
                    ":to": {"N": str(reservation.seq_to)},
                    ":before": {"N": str(reservation.seq_from - 1)},
                    ":now": {"N": str(_now_ms())},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise LeaseLost("the feed's lease ran out before publishing") from None
            raise

    def release(self, platform_id: str, tenant_id: str, reservation: Reservation) -> None:
        """Gives up an unpublished reservation: the writer's items in it are removed (nobody ever saw
        them), then its lease is freed so the next writer need not wait for it to run out."""
        client = aws_clients.dynamodb()
        for seq in range(reservation.seq_from, reservation.seq_to + 1):
            try:
                client.delete_item(
                    TableName=self._table,
                    Key=self._key(platform_id, tenant_id, _sk(seq)),
                    ConditionExpression="writer = :me",
                    ExpressionAttributeValues={":me": {"S": reservation.writer}},
                )
            except ClientError as exc:
                if not _conditional_failed(exc):
                    raise
        try:
            client.update_item(
                TableName=self._table,
                Key=self._key(platform_id, tenant_id, HEAD),
                UpdateExpression="REMOVE #owner, #until",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner", "#until": "until"},
                ExpressionAttributeValues={":me": {"S": reservation.writer}},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def is_published(self, platform_id: str, tenant_id: str, reservation: Reservation) -> bool:
        head = self._head(platform_id, tenant_id)
        if head is None or int(head.get("hw", {}).get("N", "0")) < reservation.seq_to:
            return False
        item = (
            aws_clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=self._key(platform_id, tenant_id, _sk(reservation.seq_to)),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return item is not None and item.get("writer", {}).get("S") == reservation.writer

    # -- readers ------------------------------------------------------------------------------------

    def cursor_before(self, platform_id: str, tenant_id: str, seq: int) -> str:
        head = self._head(platform_id, tenant_id)
        return encode_cursor(head["gen"]["S"] if head else "", max(0, seq - 1))

    def _head(self, platform_id: str, tenant_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = (
            aws_clients.dynamodb()
            .get_item(TableName=self._table, Key=self._key(platform_id, tenant_id, HEAD), ConsistentRead=True)
            .get("Item")
        )
        return item

    def read(
        self, platform_id: str, tenant_id: str, *, after: str | None, kind: ImportKind | None, limit: int
    ) -> FeedPage:
        gen, position = decode_cursor(after) if after else ("", 0)
        head = self._head(platform_id, tenant_id)
        head_gen = head["gen"]["S"] if head else ""
        hw = int(head["hw"]["N"]) if head else 0
        if gen and gen != head_gen:
            raise CursorExpired("this cursor belongs to an earlier change feed of the tenant; read it from the start")
        if position >= hw:
            return FeedPage(items=[], cursor=encode_cursor(head_gen, position), has_more=False)
        response = aws_clients.dynamodb().query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":pk": {"S": tenant_pk(platform_id, tenant_id)},
                ":from": {"S": _sk(position + 1)},
                ":to": {"S": _sk(hw)},
            },
            ConsistentRead=True,
            Limit=SCAN_BUDGET,
        )
        rows = response.get("Items", [])
        if after and (not rows or int(rows[0]["seq"]["N"]) != position + 1):
            raise CursorExpired(
                f"changes after this cursor were deleted after {CHANGE_RETENTION.days} days; re-read the "
                "records with a full import and start again without a cursor"
            )
        items: list[Change] = []
        last = position
        for row in rows:
            if len(items) == limit:
                break
            last = int(row["seq"]["N"])
            if kind is None or row["kind"]["S"] == kind.value:
                items.append(Change.model_validate_json(row["doc"]["S"]))
        return FeedPage(items=items, cursor=encode_cursor(head_gen, last), has_more=last < hw)
