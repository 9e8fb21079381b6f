"""The low-water mark of a tenant's open transfers (LedgerTable, sk = `OPENMARK`; docs/ledger.md).

`queued` and `sending` transfers are not in the status index (that would cost index writes on every
state change of every transfer), so finding them means reading the tenant's transfers in id order — ids
start with their creation time in ms. The mark item says where the oldest transfer that may still be
open sits, so the schedule tick reads only the open tail instead of 14 days of history:

- `mark` (ms): every transfer whose id is older was settled (or failed/parked: the index finds those)
  when the pass that wrote it looked. A pass moves it to the oldest transfer it saw open, at most to
  its own start − WRITE_GAP: a writer that created a transfer id just before the pass may store the
  transfer only after the pass read past it; no writer lives longer than WRITE_GAP.
- `holds` (string set of "<id ms>:<written ms>"): put by whatever makes a settled transfer open again
  (a retry, a resume, intake completing an event under its first delivery's ids) before it writes the
  transfer. One unconditional `ADD`: a set union, so no pass can overwrite it, whenever it runs. A pass
  reads from the lowest hold too, and removes only holds written more than WRITE_GAP before it began:
  their transfers were written (or never will be) before it read them, so it saw them as they are now —
  open ones then keep the mark down themselves. Younger holds stay for the next pass.

Costs: one GetItem per pass, one UpdateItem per pass when the mark moves, one UpdateItem per re-open
(a request that retries or resumes many transfers holds once, at the oldest). Nothing per live transfer.
The item carries a TTL beyond the 14-day window: one left behind (an offboarding racing a hold) goes
away, and a missing mark only means one pass reads the whole window again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import to_item

MARK_SK = "OPENMARK"
# Longer than any writer of transfers lives (Lambda's hard limit is 15 minutes), with room for clock skew.
WRITE_GAP = timedelta(minutes=20)
TTL = timedelta(days=15)  # beyond the ledger's 14-day open window


def wall_ms() -> int:
    """Milliseconds of the wall clock: the same clock transfer ids start with (new_transfer_id)."""
    return time.time_ns() // 1_000_000


def id_ms(transfer_id: str) -> int:
    """When a transfer id was created (ms), from its leading hex; 0 (the oldest) if it has none."""
    try:
        return int(transfer_id.removeprefix("tr_")[:12], 16)
    except ValueError:
        return 0


def transfer_sk_before(ms: int) -> str:
    """A sort key just before every transfer id created at `ms` or later (an exclusive start key)."""
    return f"TRANSFER#tr_{max(ms, 0):012x}"


@dataclass(frozen=True)
class OpenPass:
    """One read of a tenant's open tail: when it began, where it reads from, the mark item it read."""

    pk: str
    began_ms: int
    start_ms: int
    mark_ms: int | None
    holds: frozenset[str]


def _parse_hold(hold: str) -> tuple[int, int]:
    at, _, written = hold.partition(":")
    return int(at), int(written or 0)


class DynamoOpenMark:
    def __init__(self, table: str, now_ms: Callable[[], int] | None = None) -> None:
        self._table = table
        self._clock = now_ms

    def _now_ms(self) -> int:
        return self._clock() if self._clock is not None else wall_ms()

    def begin(self, pk: str, window: timedelta) -> OpenPass:
        """Reads the mark (one consistent GetItem): the pass reads transfers from the lowest of the
        mark and any hold, but not older than `window`."""
        began = self._now_ms()
        item = aws_clients.dynamodb().get_item(
            TableName=self._table,
            Key=to_item({"pk": pk, "sk": MARK_SK}),
            ConsistentRead=True,
            ProjectionExpression="#m, holds",
            ExpressionAttributeNames={"#m": "mark"},
        )
        values = item.get("Item", {})
        mark = int(values["mark"]["N"]) if "mark" in values else None
        holds = frozenset(values.get("holds", {}).get("SS", []))
        floor = began - int(window.total_seconds() * 1000)
        lowest = min([_parse_hold(h)[0] for h in holds] + ([mark] if mark is not None else [floor]))
        return OpenPass(pk=pk, began_ms=began, start_ms=max(floor, lowest), mark_ms=mark, holds=holds)

    def advance(self, opened: OpenPass, oldest_open_id: str | None) -> None:
        """After a pass: the mark moves to the oldest transfer it saw open, at most to its start −
        WRITE_GAP. Holds written more than WRITE_GAP before the pass began are consumed (the pass read
        their transfers after those were written); younger ones stay for the next pass. Written only if
        something changes, and only if no other pass moved the mark since this one read it."""
        gap = int(WRITE_GAP.total_seconds() * 1000)
        consumed = {hold for hold in opened.holds if _parse_hold(hold)[1] <= opened.began_ms - gap}
        new_mark = opened.began_ms - gap
        if oldest_open_id is not None:
            new_mark = min(new_mark, id_ms(oldest_open_id))
        if new_mark == opened.mark_ms and not consumed:
            return
        expression = "SET #m = :m, expires_at = :exp"
        values: dict[str, object] = {":m": new_mark, ":exp": self._expires()}
        if consumed:
            expression += " DELETE holds :gone"
            values[":gone"] = consumed
        if opened.mark_ms is None:
            condition = "attribute_not_exists(#m)"
        else:
            condition = "#m = :old"
            values[":old"] = opened.mark_ms
        try:
            aws_clients.dynamodb().update_item(
                TableName=self._table,
                Key=to_item({"pk": opened.pk, "sk": MARK_SK}),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#m": "mark"},
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            # Another pass moved the mark meanwhile: its value stands, the next pass computes again.
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def hold(self, pk: str, transfer_ids: Iterable[str]) -> None:
        """Before settled transfers become open again: keeps the oldest of them inside what passes read."""
        oldest = min((id_ms(t) for t in transfer_ids), default=None)
        if oldest is None:
            return
        aws_clients.dynamodb().update_item(
            TableName=self._table,
            Key=to_item({"pk": pk, "sk": MARK_SK}),
            UpdateExpression="ADD holds :h SET expires_at = :exp",
            ExpressionAttributeValues=to_item({":h": {f"{oldest}:{self._now_ms()}"}, ":exp": self._expires()}),
        )

    def _expires(self) -> int:
        return (self._now_ms() + int(TTL.total_seconds() * 1000)) // 1000
