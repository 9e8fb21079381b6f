"""The change feed (DynamoDB, moto): writers take turns, a reader's cursor never skips a change that
commits late, a stalled writer cannot overwrite another's changes, and cursors are opaque and stable
(422 when made up, 410 when the changes after them expired or the feed was reset)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest

from local_stack.provision import ProvisionedStack
from sevbridge.adapters import dynamo_changes
from sevbridge.adapters.dynamo_changes import DynamoChangeFeed, encode_cursor
from sevbridge.domain.errors import InvalidInput, TemporarilyUnavailable
from sevbridge.domain.pull.ports import CursorExpired, LeaseLost
from sevbridge.domain.pull.records import Action, ChangeDraft, ImportKind

pytestmark = pytest.mark.functional
P, T = "plt_feed", "tenant-feed"


@pytest.fixture
def feed(aws: ProvisionedStack, monkeypatch: pytest.MonkeyPatch) -> DynamoChangeFeed:
    monkeypatch.setattr(dynamo_changes, "LEASE_WAIT_SECONDS", 0.2)
    return DynamoChangeFeed(aws.tables["ChangesTable"], sleep=lambda _: None)


def drafts(*ids: str, kind: ImportKind = ImportKind.CONTACTS) -> list[ChangeDraft]:
    return [ChangeDraft(kind=kind, action=Action.DELETED, sevdesk_id=i) for i in ids]


def read_all(feed: DynamoChangeFeed, after: str | None = None, **kw: Any) -> tuple[list[str], str]:
    seen: list[str] = []
    while True:
        page = feed.read(P, T, after=after, kind=kw.get("kind"), limit=kw.get("limit", 100))
        seen += [c.sevdesk_id for c in page.items]
        after = page.cursor
        if not page.has_more:
            return seen, after


def test_a_change_that_commits_late_is_never_skipped(feed: DynamoChangeFeed) -> None:
    slow = feed.reserve(P, T, "writer-a", 2)  # reserved first, committed last
    seen, cursor = read_all(feed)
    assert seen == []
    # Meanwhile another writer (a backfill) waits: the feed is leased, nothing can pass writer A.
    with pytest.raises(TemporarilyUnavailable):
        feed.reserve(P, T, "writer-b", 1)
    feed.commit(P, T, slow, drafts("a1", "a2"))
    fast = feed.reserve(P, T, "writer-b", 1)
    feed.commit(P, T, fast, drafts("b1"))
    seen, cursor = read_all(feed, cursor)
    assert seen == ["a1", "a2", "b1"]
    assert read_all(feed, cursor)[0] == []
    assert read_all(feed)[0] == ["a1", "a2", "b1"]  # from the start, in commit order


def test_a_stalled_writer_cannot_publish_or_overwrite(feed: DynamoChangeFeed, aws: ProvisionedStack) -> None:
    stalled = replace(feed.reserve(P, T, "writer-a", 2), lease_until_ms=1)
    _expire_lease(aws)  # writer A stalled past its lease (in the feed's head and in its own clock)
    taker = feed.reserve(P, T, "writer-b", 2)
    assert (taker.seq_from, taker.seq_to) == (stalled.seq_from, stalled.seq_to)
    with pytest.raises(LeaseLost):
        feed.commit(P, T, stalled, drafts("a1", "a2"))  # A wakes up: its writes are refused
    feed.commit(P, T, taker, drafts("b1", "b2"))
    assert read_all(feed)[0] == ["b1", "b2"]
    assert feed.is_published(P, T, taker) and not feed.is_published(P, T, stalled)


def test_an_abandoned_reservation_leaves_nothing_behind(feed: DynamoChangeFeed) -> None:
    gone = feed.reserve(P, T, "writer-a", 2)
    feed.release(P, T, gone)
    again = feed.reserve(P, T, "writer-b", 1)  # no waiting for the lease to run out
    feed.commit(P, T, again, drafts("b1"))
    assert read_all(feed)[0] == ["b1"]


def test_kind_filter_and_paging(feed: DynamoChangeFeed) -> None:
    for n in range(5):
        batch = feed.reserve(P, T, f"w{n}", 3)
        feed.commit(P, T, batch, [*drafts(f"c{n}a", f"c{n}b"), *drafts(f"i{n}", kind=ImportKind.INVOICES)])
    assert read_all(feed, limit=4)[0] == [f"c{n}{x}" if x else f"i{n}" for n in range(5) for x in ("a", "b", "")]
    invoices, cursor = read_all(feed, kind=ImportKind.INVOICES, limit=2)
    assert invoices == [f"i{n}" for n in range(5)]
    page = feed.read(P, T, after=None, kind=None, limit=4)
    assert page.has_more and len(page.items) == 4
    again = feed.read(P, T, after=None, kind=None, limit=4)
    assert again.cursor == page.cursor  # stable: the same question gets the same answer
    assert [c.seq for c in feed.read(P, T, after=page.cursor, kind=None, limit=2).items] == [5, 6]
    tail = feed.read(P, T, after=cursor, kind=None, limit=10)
    assert (tail.items, tail.cursor, tail.has_more) == ([], cursor, False)


def test_bad_expired_and_reset_cursors(feed: DynamoChangeFeed, aws: ProvisionedStack) -> None:
    batch = feed.reserve(P, T, "w", 3)
    feed.commit(P, T, batch, drafts("x1", "x2", "x3"))
    first = feed.read(P, T, after=None, kind=None, limit=1)
    for bad in ("nonsense", encode_cursor("zz", 1), "djE6YWJjOi0x"):
        with pytest.raises(InvalidInput):
            feed.read(P, T, after=bad, kind=None, limit=1)
    # The next change after the cursor expired (TTL deleted it): 410, never a silent gap.
    table = aws.tables["ChangesTable"]
    boto3.client("dynamodb").delete_item(
        TableName=table, Key={"pk": {"S": f"T#{P}#{T}"}, "sk": {"S": "C#0000000000000002"}}
    )
    with pytest.raises(CursorExpired):
        feed.read(P, T, after=first.cursor, kind=None, limit=1)
    # The tenant was offboarded and connected again: a new feed, old cursors are refused.
    for sk in ("HEAD", "C#0000000000000001", "C#0000000000000003"):
        boto3.client("dynamodb").delete_item(TableName=table, Key={"pk": {"S": f"T#{P}#{T}"}, "sk": {"S": sk}})
    fresh = feed.reserve(P, T, "w2", 1)
    feed.commit(P, T, fresh, drafts("y1"))
    with pytest.raises(CursorExpired):
        feed.read(P, T, after=first.cursor, kind=None, limit=1)


def _expire_lease(aws: ProvisionedStack) -> None:
    boto3.client("dynamodb").update_item(
        TableName=aws.tables["ChangesTable"],
        Key={"pk": {"S": f"T#{P}#{T}"}, "sk": {"S": "HEAD"}},
        UpdateExpression="SET #until = :past",
        ExpressionAttributeNames={"#until": "until"},
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
