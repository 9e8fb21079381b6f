"""The ledger in DynamoDB (LedgerTable), laid out so that a transfer costs few write units (docs/ledger.md).

Items, all under the tenant's partition pk = T#<platform>#<tenant>:
- transfer  sk = TRANSFER#<transfer id>: what to transfer — the document (compact JSON, zlib) and the
            event it came with. Only off the happy path: a live transfer's queue message carries its
            document (adapters/transfer_message.py), so its item is written by whoever has the document
            when it must be re-sent or shown without that message — the worker before a failed or parked
            pointer and on a message's second receive (`keep`), intake for a backfill's transfer or a
            document too big for its message, the archive step (state only, no document) when a newer
            transfer takes the pointer. Its `st` holds the transfer's state only while it is not its
            document's current transfer (`arev`: the pointer revision archived).
- pointer   sk = DOC#<kind>#<source id>: the state of the document's latest transfer (status, attempts,
            sevDesk id/number, reason, compact history) — every state change of that transfer is one
            small write here — `live` (the newest transfer pending on the transfer queue: a backfill's
            claim waits for it), and a backfill's claim (`claim` = transfer id, `claim_until`) that
            makes `sending` exclusive per document; a live transfer writes no claim, its consistent
            read is the claim. Read by key for the status column (lookup). The same item holds the
            push's mapping of the document (`map`, adapters/dynamo_mappings.py), which pointer writes
            never touch; an item with `map` and no `tid` is a document with no transfer yet.
            It also carries the event that made its transfer (`eid`, body hash `eh`): that answers a
            redelivery of the event, so no receipt item is written (record_events).
- open mark sk = OPENMARK: where the tenant's oldest possibly open (`queued`/`sending`) transfer sits, so
            finding open transfers reads only the tail from there (adapters/dynamo_open_mark.py).
gsi1 is sparse and KEYS_ONLY: only transfers that need a person (failed) or wait for a token
(waiting_for_credentials) carry gsi1pk = <pk>#STATUS#<status>, gsi1sk = transfer id — on the pointer for
a document's current transfer, on the transfer's own item for an older one. A transfer that goes
queued → transferred never touches it.

The pointer also says whether the document's last attempt is unsettled: `unsure` (the newest source
version, in µs, of an attempt that may have written to sevDesk unrecorded) is set when a transfer leaves
`sending` (or ends a live attempt) with an unknown outcome and removed when one ends having reconciled; a
claim left behind by a transfer that died while `sending` says the same (`claimv` = its version), and so
does the expired claim intake leaves for a replaced live transfer still pending (it may be mid-attempt).
A transfer that attempts a document in that state comes back from save() (a claim) or begin_attempt()
(live) `uncertain`, with `unsettled_version`: it reconciles with
sevDesk (marker, number) before creating anything — whichever transfer of the document it is — and an
older version does not overwrite what the newer attempt may have written. That is what lets the push
write its mapping row once, after the fact — with the outcome (`save(…, mapping=…)`) — instead of
before every create.

Every pointer write is conditional on the revision read just before (optimistic concurrency): intake
moving the pointer to a newer transfer and a worker recording the older one's outcome never overwrite
each other; the loser re-reads and writes where the state now belongs.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.adapters.dynamo_open_mark import MARK_SK, DynamoOpenMark, id_ms, transfer_sk_before
from sevbridge.adapters.dynamo_outbox import StateConditionFailed, write_with_notices
from sevbridge.adapters.transfer_message import carries
from sevbridge.domain.errors import ConcurrentUpdate, DocumentBusy, InvalidInput, TransferGone
from sevbridge.domain.intake_models import (
    DocumentKey,
    DocumentState,
    EventDraft,
    EventRecord,
    Placement,
    TransferPage,
    TransferQuery,
    placement,
)
from sevbridge.domain.ledger import (
    TRANSFER_ID_PATTERN,
    HistoryEntry,
    Transfer,
    TransferDocument,
    TransferKind,
    TransferStatus,
    document_of,
    stem_of,
    with_stem,
)
from sevbridge.domain.notify.notices import Notices

if TYPE_CHECKING:
    from sevbridge.domain.push.ports import MappingKind, MappingRow

# How long a `sending` claim holds: longer than any invocation of the transfer worker (15 minutes), so
# a claim that expires belongs to a worker that died; its transfer then reconciles (it is `sending`).
CLAIM_SECONDS = 960
INDEXED = frozenset({TransferStatus.FAILED, TransferStatus.WAITING_FOR_CREDENTIALS})
MAX_PAGES = 10  # main-table pages read per listing request when filtering by a status the index lacks
WRITE_RETRIES = 8
# Transfers `queued` or `sending` older than this are not looked for: the transfer queue keeps a
# message at most 14 days, so nothing older is still on its way. Within it, a pass reads from the
# tenant's low-water mark of open transfers (adapters/dynamo_open_mark.py).
OPEN_WINDOW = timedelta(days=14)
OPEN = frozenset({TransferStatus.QUEUED, TransferStatus.SENDING})
# A live transfer is no longer pending once it reached one of these: its settling outcome clears `live`.
SETTLES_LIVE = frozenset(
    {TransferStatus.TRANSFERRED, TransferStatus.SKIPPED, TransferStatus.FAILED, TransferStatus.WAITING_FOR_CREDENTIALS}
)
# A current transfer reaching one of these is re-sent from its own item (retry, resume): its outcome write
# stores the item first when the transfer has none (a live one whose message carried its document).
KEEPS_ITEM = frozenset({TransferStatus.FAILED, TransferStatus.WAITING_FOR_CREDENTIALS})
# How soon a backfill's transfer looks again while a live transfer of its document is pending (a live
# transfer usually settles within seconds; each look re-runs the backfill's chunk from its receipts).
LIVE_PENDING_RETRY = 30.0


def _status_key(pk: str, status: TransferStatus) -> str:
    return f"{pk}#STATUS#{status.value}"


def _doc_sk(kind: TransferKind | str, source_id: str) -> str:
    return f"DOC#{TransferKind(kind).value}#{source_id}"


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(), 9)


def _unpack(blob: Any) -> Any:
    return json.loads(zlib.decompress(bytes(blob)))


def _state(transfer: Transfer) -> dict[str, Any]:
    """The mutable part of a transfer, compact (short keys, no nulls, history as triples)."""
    values = {
        "s": transfer.status.value,
        "a": transfer.attempts,
        "u": transfer.uncertain,
        "e": transfer.last_error,
        "r": transfer.reason,
        "i": transfer.sevdesk_id,
        "n": transfer.sevdesk_number,
        "q": transfer.requeues,
        "d": transfer.delivery,
        "t": transfer.updated_at.isoformat(),
        "h": [[h.at.isoformat(), h.status.value, h.note] for h in transfer.history],
    }
    return {k: v for k, v in values.items() if v not in (None, False, 0)}


def _apply_state(base: dict[str, Any], st: dict[str, Any]) -> dict[str, Any]:
    return base | {
        "status": st["s"],
        "attempts": st.get("a", 0),
        "uncertain": st.get("u", False),
        "last_error": st.get("e"),
        "reason": st.get("r"),
        "sevdesk_id": st.get("i"),
        "sevdesk_number": st.get("n"),
        "requeues": st.get("q", 0),
        "delivery": st.get("d"),
        "updated_at": st["t"],
        "history": [HistoryEntry(at=at, status=status, note=note) for at, status, note in st.get("h", [])],
    }


@dataclass(frozen=True)
class _Pointer:
    transfer_id: str
    rev: int
    st: dict[str, Any]
    claim: str | None
    claim_until: int
    unsure: int = 0  # µs version of the newest attempt with an unknown outcome; 0: settled
    claim_version: int = 0  # µs version of the claim holder
    live: str | None = None  # the newest transfer pending on the transfer queue (a backfill claim waits)
    version: str = ""  # the source version of its transfer (ISO)
    event_id: str | None = None  # the event that made its transfer, and that event's body hash
    body_hash: str | None = None
    # What a transfer item says about its transfer, for a current transfer that has no item (its document
    # travels in its queue message): event type, creation time (ISO; the archive step puts it on the
    # transfer's item), manual.
    event_type: str | None = None
    created_at: str | None = None
    manual: bool = False
    # The push mapping of the document as read with the pointer (same item): not part of its state.
    mapping: str | None = field(default=None, compare=False)

    @classmethod
    def of(cls, values: dict[str, Any] | None) -> _Pointer | None:
        """None for no item, and for an item that only holds a push mapping (`map`, no `tid`): a
        customer contact that never had a transfer of its own (adapters/dynamo_mappings.py)."""
        if values is None or "tid" not in values:
            return None
        return cls(
            transfer_id=values["tid"],
            rev=int(values.get("rev", 0)),
            st=_unpack(values["st"]),
            claim=values.get("claim"),
            claim_until=int(values.get("claim_until", 0)),
            unsure=int(values.get("unsure", 0)),
            claim_version=int(values.get("claimv", 0)),
            live=values.get("live"),
            version=values.get("version", ""),
            event_id=values.get("eid"),
            body_hash=values.get("eh"),
            event_type=values.get("et"),
            created_at=values.get("ca"),
            manual=bool(values.get("man")),
            mapping=values.get("map"),
        )

    def unsettled_for(self, transfer_id: str) -> int:
        """The version (µs) of the newest attempt of another transfer of this document that may have
        written to sevDesk unrecorded — an attempt of it ended with an unknown outcome, it died holding
        the claim, or it was replaced while pending live (the claim intake left for it) — or 0."""
        dead_claim = (self.claim_version or 1) if self.claim not in (None, transfer_id) else 0
        return max(self.unsure, dead_claim)


_Fate = Literal["fresh", "adopted", "superseded"]


def _itemised(transfer: Transfer) -> bool:
    """Whether intake stores a transfer item: a backfill's transfer (its chunk runs it from the ledger),
    or a live one whose document is too big for its queue message. Other live transfers travel with
    their document in the message; their state is on the pointer (docs/ledger.md, "Items")."""
    return not transfer.live or not carries(transfer)


def _with_state(transfer: Transfer, st: dict[str, Any]) -> Transfer:
    return Transfer.model_validate(_apply_state(transfer.model_dump(), st))


def _rebased(transfers: list[Transfer], stem: str) -> list[Transfer]:
    return [t.model_copy(update={"transfer_id": with_stem(t.transfer_id, stem)}) for t in transfers]


def _document_state(kind: TransferKind, source_id: str, pointer: _Pointer) -> DocumentState:
    st = pointer.st
    return DocumentState(
        kind=kind,
        source_id=source_id,
        transfer_id=pointer.transfer_id,
        status=TransferStatus(st["s"]),
        version=datetime.fromisoformat(pointer.version),
        sevdesk_id=st.get("i"),
        sevdesk_number=st.get("n"),
        reason=st.get("r") or st.get("e"),
        updated_at=datetime.fromisoformat(st["t"]),
        event_id=pointer.event_id,
        body_hash=pointer.body_hash,
    )


class _Unread:
    """Marks a pointer not read yet (None means read and absent)."""


_UNREAD = _Unread()


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


class DynamoLedgerStore:
    def __init__(self, table: str, outbox_table: str | None = None, open_mark: DynamoOpenMark | None = None) -> None:
        self._table = table
        self._outbox_table = outbox_table
        self._open_mark = open_mark or DynamoOpenMark(table)
        # The pointer as this process last read or wrote it, per document: a save right after a get
        # writes without reading again. A stale entry only costs a failed condition and a re-read.
        self._seen: dict[tuple[str, str], _Pointer] = {}
        # The `map` read with a current transfer's pointer by `get` (per document and transfer), until the
        # runner takes it (mapping_read): the push needs no second read of the same item.
        self._maps: dict[tuple[str, str, str], str | None] = {}

    # --- intake: events ---------------------------------------------------------------------------
    def record_events(self, drafts: list[EventDraft]) -> list[EventRecord]:
        """Intake's writes. The events' documents' pointers are read first (one consistent BatchGetItem per
        100). Per event: a pointer that already names it makes it a redelivery — its transfers take the ids
        of the first delivery (`recorded`; `conflict` with another body). Then each pointer is written
        (conditional on its revision or absence; it carries the event id and body hash), and after all of
        them the transfer items of those that have one (`_itemised`: a live transfer's message carries its
        document), 25 per BatchWriteItem. Pointers first: a crash between leaves pointers naming the event,
        and its retry (the event got no 202) finds them and sends (and stores) what is missing under the
        same ids — no receipt item, no orphan transfer. Results in input order."""
        known = self._read_pointers([t for d in drafts for t in d.transfers])
        placed = [self._place_event(draft, known) for draft in drafts]
        self._put_transfers(
            [
                t
                for record, fates, _ in placed
                for t, f in zip(record.transfers, fates, strict=True)
                if f == "fresh" and _itemised(t)
            ]
        )
        return self._completed(placed)

    def _read_pointers(self, transfers: list[Transfer]) -> dict[tuple[str, str], _Pointer | None]:
        known: dict[tuple[str, str], _Pointer | None] = {}
        by_pk: dict[str, set[str]] = {}
        for t in transfers:
            by_pk.setdefault(tenant_pk(t.platform_id, t.tenant_id), set()).add(_doc_sk(t.kind, t.source_id))
        for pk, sort_keys in by_pk.items():
            found = self._batch_get(pk, sort_keys)
            known |= {(pk, sk): _Pointer.of(found.get(sk)) for sk in sort_keys}
        return known

    def _place_event(
        self, draft: EventDraft, known: dict[tuple[str, str], _Pointer | None]
    ) -> tuple[EventRecord, list[_Fate], list[_Pointer | None]]:
        """Writes the event's pointers, in event order. Returns its record and, per transfer, its fate:
        `fresh` (new: stored with the others), `adopted` (an earlier delivery of the event recorded it:
        stored only if missing) or `superseded` (a newer version holds the document: not stored); and the
        pointer when it is at the transfer already (its state as stored)."""
        transfers = list(draft.transfers)
        recorded = False
        for t in transfers:
            pointer = known.get(self._doc_key(t))
            if pointer is not None and pointer.event_id == draft.event_id and pointer.body_hash is not None:
                if pointer.body_hash != draft.body_hash:
                    return EventRecord(outcome="conflict"), [], []
                transfers, recorded = _rebased(transfers, stem_of(pointer.transfer_id)), True
                break
        while True:
            kept: list[Transfer] = []
            fates: list[_Fate] = []
            superseded: list[DocumentState | None] = []
            at: list[_Pointer | None] = []
            wrote = False
            for t in transfers:
                key = self._doc_key(t)
                where, pointer = self._point_to(t, known.pop(key) if key in known else _UNREAD, draft.body_hash)
                if where is Placement.CONFLICT and not wrote:
                    return EventRecord(outcome="conflict"), [], []
                if where is Placement.RECORDED and not wrote and not recorded:
                    break  # a concurrent delivery of the event got there first: take its ids (below)
                fate: _Fate = "adopted" if recorded else "fresh"
                state = None
                if where is Placement.SUPERSEDED:
                    assert pointer is not None
                    fate, state = "superseded", _document_state(t.kind, t.source_id, pointer)
                elif where in (Placement.RECORDED, Placement.CONFLICT):
                    # Another delivery of this event reached this document first, under its own ids (a race
                    # over the event's documents): keep its transfer, so the document still has one.
                    assert pointer is not None
                    t, fate = t.model_copy(update={"transfer_id": pointer.transfer_id}), "adopted"
                wrote = wrote or where is Placement.TAKE
                kept.append(t)
                fates.append(fate)
                superseded.append(state)
                at.append(pointer if where in (Placement.HERE, Placement.RECORDED, Placement.CONFLICT) else None)
            else:
                break
            assert pointer is not None
            transfers, recorded = _rebased(transfers, stem_of(pointer.transfer_id)), True
        record = EventRecord(
            outcome="recorded" if recorded else "new",
            transfers=kept,
            superseded=superseded,
            to_send=[t for t, f in zip(kept, fates, strict=True) if f == "fresh" and t.status is TransferStatus.QUEUED],
        )
        return record, fates, at

    def _doc_key(self, transfer: Transfer) -> tuple[str, str]:
        return tenant_pk(transfer.platform_id, transfer.tenant_id), _doc_sk(transfer.kind, transfer.source_id)

    def _completed(self, placed: list[tuple[EventRecord, list[_Fate], list[_Pointer | None]]]) -> list[EventRecord]:
        """Transfers of events recorded before: adds to what is sent those still `queued`, and stores the
        items of those that have one (a backfill's, or a document too big for its message) if missing (the
        first delivery stopped before them), under their ids — one BatchGetItem finds them. A live
        transfer has no item: its state is the pointer read for the request (`at`), or, where this
        delivery just wrote the pointer (the first one stopped before it), the transfer as built."""
        ours = [
            (t, p)
            for record, fates, at in placed
            for t, f, p in zip(record.transfers, fates, at, strict=True)
            if f == "adopted"
        ]
        if not ours:
            return [record for record, _, _ in placed]
        stored: dict[str, Transfer] = {
            t.transfer_id: t if p is None or p.transfer_id != t.transfer_id else _with_state(t, p.st)
            for t, p in ours
            if not _itemised(t)
        }
        stored |= self._completed_items([(t, p) for t, p in ours if _itemised(t)])
        records = []
        for record, fates, _ in placed:
            again = [stored[t.transfer_id] for t, f in zip(record.transfers, fates, strict=True) if f == "adopted"]
            queued = [t for t in again if t.status is TransferStatus.QUEUED]
            records.append(record.model_copy(update={"to_send": record.to_send + queued}) if queued else record)
        return records

    def _completed_items(self, ours: list[tuple[Transfer, _Pointer | None]]) -> dict[str, Transfer]:
        items: dict[str, dict[str, Any]] = {}
        for platform_id, tenant_id in dict.fromkeys((t.platform_id, t.tenant_id) for t, _ in ours):
            pk = tenant_pk(platform_id, tenant_id)
            mine = [t for t, _ in ours if (t.platform_id, t.tenant_id) == (platform_id, tenant_id)]
            found = self._batch_get(pk, [f"TRANSFER#{t.transfer_id}" for t in mine])
            items |= {f"{pk}|{sk}": v for sk, v in found.items()}
            missing = [t for t in mine if f"{pk}|TRANSFER#{t.transfer_id}" not in items]
            # Their ids are as old as the first delivery: keep them where the stranded-work tick looks first.
            reopened = [t.transfer_id for t in missing if t.status is TransferStatus.QUEUED]
            if reopened:
                self.hold_open(platform_id, tenant_id, reopened)
            for t in missing:
                self._put_missing(t)
        stored: dict[str, Transfer] = {}
        for t, pointer in ours:
            values = items.get(f"{tenant_pk(t.platform_id, t.tenant_id)}|TRANSFER#{t.transfer_id}")
            stored[t.transfer_id] = t if values is None else self._transfer(t.platform_id, t.tenant_id, values, pointer)
        return stored

    def _put_missing(self, transfer: Transfer) -> None:
        """A transfer of an event recorded before, stored only if still missing: a concurrent delivery may
        have stored it meanwhile, and its state may have moved on since (never put `queued` back)."""
        try:
            aws_clients.dynamodb().put_item(
                TableName=self._table,
                Item=self._transfer_item(transfer),
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # --- transfers: writing -----------------------------------------------------------------------
    def record_transfers(self, transfers: list[Transfer]) -> None:
        """Stores transfers and points their documents at them (no event hash: tools and tests seed the
        ledger with it; intake uses record_events). Idempotent."""
        self._put_transfers(transfers)
        self.point_documents(transfers)

    def _put_transfers(self, transfers: list[Transfer]) -> None:
        """New transfer items (fresh ids need no condition), 25 per BatchWriteItem."""
        client = aws_clients.dynamodb()
        items = [{"PutRequest": {"Item": self._transfer_item(t)}} for t in transfers]
        for start in range(0, len(items), 25):
            request: Any = {self._table: items[start : start + 25]}
            while request:
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    def point_documents(self, transfers: list[Transfer]) -> None:
        """Makes each transfer (in order) its document's current one unless it or a newer one already
        is (or a newer version: a pointer's version never goes back). The pointers are read first in one
        BatchGetItem (per 100 documents; consistent: the archive step writes what it read onto the older
        transfer's item), then each is written conditionally; a pointer that changed meanwhile is re-read."""
        # A pointer this process saw at the transfer or a newer one stays so (ids only grow).
        transfers = [t for t in transfers if not self._seen_at_or_after(t)]
        known = self._read_pointers(transfers)
        for transfer in transfers:
            key = self._doc_key(transfer)
            # Read once per request: a second transfer of the same document re-reads what the first wrote.
            self._point_to(transfer, known.pop(key) if key in known else _UNREAD)

    def _transfer_item(self, transfer: Transfer) -> dict[str, Any]:
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        return to_item(
            {
                "pk": pk,
                "sk": f"TRANSFER#{transfer.transfer_id}",
                "kind": transfer.kind.value,
                "source_id": transfer.source_id,
                "created_at": transfer.created_at.isoformat(),
                "doc": _pack(
                    {
                        "event_id": transfer.event_id,
                        "event_type": transfer.event_type,
                        "manual": transfer.manual,
                        "source_version": transfer.source_version.isoformat(),
                        "payload": transfer.payload,
                    }
                ),
                "st": _pack(_state(transfer)),
            }
        )

    def _pointer_values(self, transfer: Transfer, body_hash: str | None = None) -> dict[str, Any]:
        """What the pointer says about its transfer; with `body_hash` (intake moving it), also the event."""
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        values: dict[str, Any] = {
            "tid": transfer.transfer_id,
            "st": _pack(_state(transfer)),
            "version": transfer.source_version.isoformat(),
            # The transfer's own facts, so that it reads without its item (GET, listing): ~50 bytes.
            "et": transfer.event_type,
            "ca": transfer.created_at.isoformat(),
        }
        if transfer.manual:
            values["man"] = True
        if body_hash is not None:
            values |= {"eid": transfer.event_id, "eh": body_hash}
        if transfer.status in INDEXED:
            values |= {"gsi1pk": _status_key(pk, transfer.status), "gsi1sk": transfer.transfer_id}
        if transfer.live and transfer.status is TransferStatus.QUEUED:
            values |= _live_mark(transfer)  # in the write that makes it `queued`: no extra unit
        return values

    def _seen_at_or_after(self, transfer: Transfer) -> bool:
        key = (tenant_pk(transfer.platform_id, transfer.tenant_id), _doc_sk(transfer.kind, transfer.source_id))
        seen = self._seen.get(key)
        return seen is not None and seen.transfer_id >= transfer.transfer_id

    def _point_to(
        self, transfer: Transfer, known: _Pointer | _Unread | None = _UNREAD, body_hash: str | None = None
    ) -> tuple[Placement, _Pointer | None]:
        """Makes `transfer` its document's current one where `placement` says so (TAKE), and returns
        where it stands with the pointer it decided on. The state of the transfer it replaces moves onto
        that transfer's own item first, so nothing is lost. `known`: the pointer as just read (None:
        absent), tried first; the write's condition catches a change, which is decided again."""
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        key = {"pk": pk, "sk": _doc_sk(transfer.kind, transfer.source_id)}
        client = aws_clients.dynamodb()
        for _ in range(WRITE_RETRIES):
            pointer = self._pointer(key) if isinstance(known, _Unread) else known
            known = _UNREAD
            state = _document_state(transfer.kind, transfer.source_id, pointer) if pointer is not None else None
            where = placement(state, transfer, body_hash)
            if where is not Placement.TAKE:
                return where, pointer
            if pointer is not None:
                self._archive(pk, pointer, transfer.kind, transfer.source_id)
            # The event's id and hash go with the transfer; a pointer moved without them (a seed) keeps none.
            # A replaced transfer still pending live leaves an expired claim: it may be mid-attempt (_left).
            drop = ("man",) if body_hash is not None else ("eid", "eh", "man")
            update = self._update(
                key,
                self._pointer_values(transfer, body_hash),
                pointer,
                keep_claim=True,
                claim=_left(pointer),
                drop=drop,
            )
            try:
                client.update_item(**update)
                return where, pointer
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        raise ConcurrentUpdate(f"the pointer of {transfer.kind.value} {transfer.source_id} keeps changing")

    def _archive(self, pk: str, pointer: _Pointer, kind: TransferKind, source_id: str) -> None:
        """The pointer's transfer's state onto its own item, before the pointer moves on. Conditional on
        the pointer revision it was read at (`arev`): an archive of an older read, racing one that already
        moved the pointer (and the transfer's own writes after it), never puts an older state back. A live
        transfer has no item yet (its message carried the document): this write creates one with its
        state only (no document: a superseded or settled transfer is never re-sent from it), the same
        one write unit as updating an existing item. It also takes what the pointer says of the transfer
        (event id and type, source version, manual: ~100 bytes), so the item reads as the pointer did
        (`_transfer`, `_facts`); an item that has its document keeps it as it is."""
        update = self._own_state(pk, pointer.transfer_id, pointer.st)
        facts = {
            "kind": kind.value,
            "source_id": source_id,
            "created_at": pointer.created_at or _id_time(pointer.transfer_id).isoformat(),
            "eid": pointer.event_id,
            "et": pointer.event_type,
            "version": pointer.version,
            "man": pointer.manual or None,
        }
        facts = {name: value for name, value in facts.items() if value}
        update["UpdateExpression"] = update["UpdateExpression"].replace(
            "SET ",
            "SET arev = :arev, " + "".join(f"#{n} = if_not_exists(#{n}, :{n}), " for n in facts),
            1,
        )
        update["ConditionExpression"] = "attribute_not_exists(arev) OR arev < :arev"
        update["ExpressionAttributeNames"] = {f"#{n}": n for n in facts}
        update["ExpressionAttributeValues"] |= to_item({":arev": pointer.rev} | {f":{n}": v for n, v in facts.items()})
        try:
            aws_clients.dynamodb().update_item(**update)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _own_state(self, pk: str, transfer_id: str, st: dict[str, Any]) -> dict[str, Any]:
        """The state of a transfer that is not its document's current one, on its own item; failed or
        parked, it stays findable through the index like a current one."""
        status = TransferStatus(st["s"])
        values: dict[str, Any] = {":st": _pack(st)}
        expression = "SET st = :st"
        if status in INDEXED:
            expression += ", gsi1pk = :g, gsi1sk = :tid"
            values |= {":g": _status_key(pk, status), ":tid": transfer_id}
        else:
            expression += " REMOVE gsi1pk, gsi1sk"
        return {
            "TableName": self._table,
            "Key": to_item({"pk": pk, "sk": f"TRANSFER#{transfer_id}"}),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(sk)",
            "ExpressionAttributeValues": to_item(values),
        }

    def _update(
        self,
        key: dict[str, Any],
        values: dict[str, Any],
        pointer: _Pointer | None,
        *,
        keep_claim: bool,
        claim: tuple[str, int, int] | None = None,
        unsure: int | None = None,
        clear_live: bool = False,
        drop: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """An UpdateItem of the pointer, conditional on the revision read (or on its absence). Every
        attribute goes through a name placeholder, so no DynamoDB reserved word can break it.
        `claim`: (transfer id, until, its version µs). `unsure`: the document's unsettled mark (0 removes
        it); None leaves it. `clear_live`: the pending live transfer settled. `drop`: attributes removed
        unless `values` sets them."""
        sets = [f"#{name} = :{name}" for name in values] + ["#rev = :rev"]
        removes = [f"#{name}" for name in ("gsi1pk", "gsi1sk", *drop) if name not in values]
        # `cust` belongs to the pending live transfer: it goes with `live`, set or cleared.
        if "live" in values and "cust" not in values:
            removes.append("#cust")
        if clear_live:
            removes += ["#live", "#cust"]
        attrs = {f":{name}": value for name, value in values.items()} | {":rev": (pointer.rev if pointer else 0) + 1}
        if claim is not None:
            sets += ["#claim = :claim", "#claim_until = :claim_until", "#claimv = :claimv"]
            attrs |= {":claim": claim[0], ":claim_until": claim[1], ":claimv": claim[2]}
        elif not keep_claim:
            removes += ["#claim", "#claim_until", "#claimv"]
        before = pointer.unsure if pointer is not None else 0
        if unsure and unsure != before:
            sets.append("#unsure = :unsure")
            attrs[":unsure"] = unsure
        elif unsure == 0 and before:
            removes.append("#unsure")
        if pointer is None:
            condition = "attribute_not_exists(#tid)"  # the item may hold a mapping already
        else:
            condition = "#rev = :old"
            attrs[":old"] = pointer.rev
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        used = {
            part[1:].rstrip(",")
            for part in f"{expression} {condition}".replace("(", " ").replace(")", " ").split()
            if part.startswith("#")
        }
        return {
            "TableName": self._table,
            "Key": to_item(key),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {f"#{name}": name for name in sorted(used)},
            "ExpressionAttributeValues": to_item(attrs),
        }

    def save(
        self, transfer: Transfer, notices: Notices | None = None, *, mapping: MappingRow | None = None
    ) -> Transfer:
        """Records a transfer's new state where it belongs: on its document's pointer while it is the
        current transfer, else on its own item. Moving to `sending` (a backfill's transfer) claims the
        document: raises DocumentBusy while another transfer holds an unexpired claim or a live transfer
        of it is still pending (`live`). Leaving `sending`, or ending a live attempt (`live_attempt`,
        which wrote no claim), releases the claim and marks the document unsettled or settled
        (`transfer.uncertain`). A live transfer's settling outcome clears `live`; a state change that
        puts a transfer on the transfer queue (`transfer.live`) sets it. Claiming an unsettled document
        makes the transfer uncertain: the transfer as stored is returned. Notices go into the Outbox
        table in the same transaction. Raises TransferGone when the tenant was offboarded meanwhile.
        `mapping` (the push's row of this document, adapters/dynamo_mappings.py) is set on the
        document's item by the same write as the pointer; a transfer whose outcome changes nothing on
        the pointer (it neither is current nor holds a claim there) writes it with a write of its own
        first (a rare path)."""
        original = transfer
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        key = {"pk": pk, "sk": _doc_sk(transfer.kind, transfer.source_id)}
        mapped = _mapping_attr(mapping)
        now = int(transfer.updated_at.timestamp())
        cached = self._seen.pop((pk, key["sk"]), None)
        stored, wrote_item = original.stored, False
        for _ in range(WRITE_RETRIES):
            pointer, cached = cached or self._pointer(key), None
            if pointer is None:
                # Offboarded meanwhile (then the own item is gone too), or intake stopped before the
                # pointer (the platform's retry adds it). Never create the pointer here: a write racing
                # an offboarding must not bring a row back (C5). Neither the mapping: no claim was
                # held, so nothing was pushed under one.
                if wrote_item:
                    self._forget_item(original)  # written by this save, before the erase was seen
                    raise TransferGone(f"transfer {transfer.transfer_id} no longer exists")
                try:
                    self._write([{"Update": self._own_state(pk, transfer.transfer_id, _state(transfer))}], notices)
                except StateConditionFailed:
                    raise TransferGone(f"transfer {transfer.transfer_id} no longer exists") from None
                return transfer
            holder = pointer.claim if pointer.claim_until > now else None
            sending = transfer.status is TransferStatus.SENDING
            # Decided on the pointer this write is conditional on: a change meanwhile re-runs it.
            transfer = original
            unsettled = pointer.unsettled_for(transfer.transfer_id) if sending else 0
            if unsettled:
                seen = datetime.fromtimestamp(unsettled / 1_000_000, UTC)
                transfer = transfer.model_copy(update={"uncertain": True, "unsettled_version": seen})
            # Any pending live transfer, even this one: a live attempt of it may run without a claim (e.g. a
            # backfill's transfer retried through the API is also on the transfer queue).
            live_pending = pointer.live is not None
            if sending and (holder not in (None, transfer.transfer_id) or live_pending):
                if (fresh := self._pointer(key)) != pointer:
                    cached = fresh  # what we remembered is out of date: decide on what is there now
                    continue
                if holder not in (None, transfer.transfer_id):
                    raise DocumentBusy(
                        f"another transfer of {transfer.kind.value} {transfer.source_id} is being sent",
                        retry_after=float(min(pointer.claim_until - now, 60)),
                    )
                raise DocumentBusy(
                    f"a live transfer of {transfer.kind.value} {transfer.source_id} is still pending",
                    retry_after=LIVE_PENDING_RETRY,
                    live_pending=pointer.live,
                )
            current = pointer.transfer_id == transfer.transfer_id
            if current and not stored and transfer.status in KEEPS_ITEM:
                # Re-sent from its own item (retry, resume), and its message carried the document: the item
                # first, then the pointer, so a pointer that says failed or parked always has one.
                self._store_item(transfer)
                stored = wrote_item = True
            mine = _micros(transfer.source_version)
            claim = (transfer.transfer_id, now + CLAIM_SECONDS, mine) if sending else None
            releases = not sending and (pointer.claim == transfer.transfer_id or transfer.live_attempt)
            drops_claim = not sending and pointer.claim == transfer.transfer_id
            dead_claim = 0
            if transfer.live_attempt and pointer.claim not in (None, transfer.transfer_id) and holder is None:
                # A live attempt made no claim: an expired one of a transfer that died (it counted as
                # unsettled when the attempt began) is settled by this outcome like its own would be.
                dead_claim, drops_claim = pointer.claim_version or 1, True
            sets_live = (
                transfer.live and transfer.status is TransferStatus.QUEUED and pointer.live != original.transfer_id
            )
            clears_live = pointer.live == transfer.transfer_id and transfer.status in SETTLES_LIVE
            # Leaving `sending` says whether the attempt settled; an expired claim of a transfer that
            # died is taken over by the claim and stays in `unsure` until a transfer settles it.
            unsure: int | None = None
            if claim is not None and unsettled:
                unsure = max(pointer.unsure, unsettled)
            elif releases:
                unsure = _released(max(pointer.unsure, dead_claim), transfer, mine)
            changes_pointer = bool(
                current
                or claim
                or drops_claim
                or sets_live
                or clears_live
                or (unsure is not None and unsure != pointer.unsure)
            )
            items: list[dict[str, Any]] = []
            if changes_pointer:
                values = self._pointer_values(transfer) if current else {}
                if not current:
                    # Keep the pointer's own index entry: only the claim or the marks change here.
                    values |= self._index_of(pointer, pk)
                    if sets_live:
                        values |= _live_mark(transfer)
                update = self._update(
                    key,
                    values | mapped,
                    pointer,
                    keep_claim=not drops_claim,
                    claim=claim,
                    unsure=unsure,
                    clear_live=clears_live,
                )
                items.append({"Update": update})
            elif mapped:
                # The mapping is per document, not per transfer: it goes to the document's item even
                # when the pointer moved on. Before the state, so a crash in between leaves the
                # transfer without its outcome (it reconciles), never an outcome without its mapping.
                self._set_mapping(key, mapped)
            if not current:
                items.append({"Update": self._own_state(pk, transfer.transfer_id, _state(transfer))})
            try:
                self._write(items, notices)
                if items and items[0]["Update"]["Key"]["sk"]["S"] == key["sk"]:
                    written = self._written(
                        pointer,
                        transfer,
                        current=current,
                        claim=claim,
                        drops_claim=drops_claim,
                        unsure=unsure,
                        live=transfer.transfer_id if sets_live else None if clears_live else pointer.live,
                    )
                    self._seen[(pk, key["sk"])] = written
                return transfer.model_copy(update={"stored": True}) if stored else transfer
            except StateConditionFailed:
                continue  # the pointer moved meanwhile: re-read and write where the state now belongs
        raise ConcurrentUpdate(f"transfer {transfer.transfer_id}: its document's pointer keeps changing")

    def begin_attempt(self, transfer: Transfer, now: datetime) -> Transfer | None:
        """A live attempt's claim, made of the consistent read `get` just did (no write): FIFO already
        keeps a document's live transfers serial, and a backfill's claim fails while `live` names one.
        Raises DocumentBusy while a backfill's claim is unexpired; returns the transfer uncertain (with
        `unsettled_version`) when another attempt of the document may have reached sevDesk unrecorded.
        None: no pending live transfer is named (a pointer from before `live`, a message redriven after
        its document settled, no pointer yet), so nothing holds a backfill back: claim with a write."""
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        key = {"pk": pk, "sk": _doc_sk(transfer.kind, transfer.source_id)}
        pointer = self._seen.get((pk, key["sk"])) or self._pointer(key)
        if pointer is None or pointer.live is None:
            return None
        at = int(now.timestamp())
        if pointer.claim not in (None, transfer.transfer_id) and pointer.claim_until > at:
            raise DocumentBusy(
                f"another transfer of {transfer.kind.value} {transfer.source_id} is being sent",
                retry_after=float(min(pointer.claim_until - at, 60)),
            )
        unsettled = pointer.unsettled_for(transfer.transfer_id)
        if pointer.transfer_id != transfer.transfer_id and (pending := _left(pointer)) is not None:
            # Another transfer of the document (not this one) is current and pending live without a trace
            # of its attempts: it may be mid-attempt or have died in one, like a replaced one (_left). An
            # older transfer stored before and run now must not create, nor write over a newer version.
            unsettled = max(unsettled, pending[2])
        if not unsettled:
            return transfer
        seen = datetime.fromtimestamp(unsettled / 1_000_000, UTC)
        return transfer.model_copy(update={"uncertain": True, "unsettled_version": seen})

    def _set_mapping(self, key: dict[str, Any], mapped: dict[str, Any]) -> None:
        try:
            aws_clients.dynamodb().update_item(
                TableName=self._table,
                Key=to_item(key),
                UpdateExpression="SET #map = :map",
                ConditionExpression="attribute_exists(#tid)",  # never recreate an erased document (C5)
                ExpressionAttributeNames={"#map": "map", "#tid": "tid"},
                ExpressionAttributeValues=to_item({":map": mapped["map"]}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    @staticmethod
    def _written(
        pointer: _Pointer,
        transfer: Transfer,
        *,
        current: bool,
        claim: tuple[str, int, int] | None,
        drops_claim: bool,
        unsure: int | None,
        live: str | None,
    ) -> _Pointer:
        """The pointer as our write left it (same revision arithmetic as `_update`)."""
        if claim:
            holder, until, version = claim
        elif drops_claim:
            holder, until, version = None, 0, 0
        else:
            holder, until, version = pointer.claim, pointer.claim_until, pointer.claim_version
        return _Pointer(
            transfer_id=pointer.transfer_id,
            rev=pointer.rev + 1,
            st=_state(transfer) if current else pointer.st,
            claim=holder,
            claim_until=until,
            unsure=pointer.unsure if unsure is None else unsure,
            claim_version=version,
            live=live,
        )

    def _index_of(self, pointer: _Pointer, pk: str) -> dict[str, Any]:
        status = TransferStatus(pointer.st["s"])
        return {"gsi1pk": _status_key(pk, status), "gsi1sk": pointer.transfer_id} if status in INDEXED else {}

    def _write(self, items: list[dict[str, Any]], notices: Notices | None) -> None:
        """One item without notices: a plain UpdateItem (1 unit per KB, not 2 as in a transaction)."""
        if notices:
            if self._outbox_table is None:
                raise RuntimeError("DynamoLedgerStore was built without the outbox table")
            write_with_notices(self._outbox_table, items, notices)
            return
        client = aws_clients.dynamodb()
        try:
            if len(items) == 1:
                client.update_item(**items[0]["Update"])
            else:
                client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                raise StateConditionFailed(0) from None
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons", [])  # type: ignore[typeddict-item]
                failed = [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
                if failed:
                    raise StateConditionFailed(failed[0]) from None
            raise

    # --- transfers: reading -----------------------------------------------------------------------
    def _read(self, platform_id: str, tenant_id: str, sk: str) -> dict[str, Any] | None:
        item = aws_clients.dynamodb().get_item(
            TableName=self._table,
            Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": sk}),
            ConsistentRead=True,
        )
        return from_item(item["Item"]) if "Item" in item else None

    def _pointer(self, key: dict[str, Any]) -> _Pointer | None:
        item = aws_clients.dynamodb().get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True)
        return _Pointer.of(from_item(item["Item"])) if "Item" in item else None

    def get(
        self,
        platform_id: str,
        tenant_id: str,
        transfer_id: str,
        *,
        document: DocumentKey | None = None,
        shown: bool = False,
        carried: TransferDocument | None = None,
        with_item: bool = False,
    ) -> Transfer | None:
        """The transfer with its state. Its item and its document's pointer are read in one BatchGetItem
        when the document is known: named by the id itself, or (an id from before ids named their
        document) by `document`, what its queue message says it is about — a wrong hint only costs the
        pointer read by key. A document's current transfer may have no item (its document travels in its
        queue message): with `shown` it is read from the pointer alone, with an empty payload; without,
        it is None — what runs or re-sends a transfer never gets an empty document.
        `carried` (the document its queue message carries: the worker): only the pointer is read, one
        consistent GetItem — the current transfer's state is there, and its document's push mapping with
        it (`mapping_read`) — and the transfer's own item only when the pointer has moved on; `with_item`
        reads the item too (in the same BatchGetItem), so `stored` says whether it has one."""
        if carried is not None:
            return self._get_carried(platform_id, tenant_id, transfer_id, carried, with_item=with_item)
        pk = tenant_pk(platform_id, tenant_id)
        transfer_sk = f"TRANSFER#{transfer_id}"
        named = document_of(transfer_id)
        if named is None and "." in transfer_id:
            return None  # a malformed document part names nothing: answered like an unknown id
        document = named or document
        hinted: dict[str, dict[str, Any]] | None = None
        if document is not None:
            hinted = self._batch_get(pk, (transfer_sk, _doc_sk(document.kind, document.source_id)))
            values = hinted.get(transfer_sk)
            if values is None and named is not None:
                doc_sk = _doc_sk(named.kind, named.source_id)
                pointer = _Pointer.of(hinted.get(doc_sk))
                self._remember(pk, doc_sk, pointer)
                if not shown or pointer is None or pointer.transfer_id != transfer_id:
                    return None
                return self._current(platform_id, tenant_id, doc_sk, pointer)
        else:
            values = self._read(platform_id, tenant_id, transfer_sk)
        if values is None:
            return None
        doc_sk = _doc_sk(values["kind"], values["source_id"])
        if hinted is not None and document is not None and doc_sk == _doc_sk(document.kind, document.source_id):
            pointer = _Pointer.of(hinted.get(doc_sk))
        else:
            pointer = self._pointer({"pk": values["pk"], "sk": doc_sk})
        self._remember(values["pk"], doc_sk, pointer)
        return self._transfer(platform_id, tenant_id, values, pointer)

    def _get_carried(
        self, platform_id: str, tenant_id: str, transfer_id: str, carried: TransferDocument, *, with_item: bool
    ) -> Transfer | None:
        pk = tenant_pk(platform_id, tenant_id)
        transfer_sk, doc_sk = f"TRANSFER#{transfer_id}", _doc_sk(carried.kind, carried.source_id)
        values: dict[str, Any] | _Unread | None = _UNREAD
        if with_item:
            found = self._batch_get(pk, (transfer_sk, doc_sk))
            values, pointer = found.get(transfer_sk), _Pointer.of(found.get(doc_sk))
        else:
            pointer = self._pointer({"pk": pk, "sk": doc_sk})
        self._remember(pk, doc_sk, pointer)
        if pointer is not None and pointer.transfer_id == transfer_id:
            if len(self._maps) > 1000:
                self._maps.clear()  # taken by the runner right after; a cache, not a copy of the table
            self._maps[(pk, doc_sk, transfer_id)] = pointer.mapping
            transfer = carried.transfer(transfer_id, platform_id, tenant_id, _apply_state({}, pointer.st))
            stored = isinstance(values, dict) and "doc" in values
            return transfer.model_copy(update={"stored": stored})
        # Not (or no longer) its document's current transfer: its state is on its own item.
        if isinstance(values, _Unread):
            values = self._read(platform_id, tenant_id, transfer_sk)
        if values is None:
            return None
        return self._transfer(platform_id, tenant_id, values, pointer, carried=carried)

    def _remember(self, pk: str, doc_sk: str, pointer: _Pointer | None) -> None:
        if pointer is not None:
            if len(self._seen) > 1000:
                self._seen.clear()  # a cache, not a copy of the table
            self._seen[(pk, doc_sk)] = pointer
        else:
            self._seen.pop((pk, doc_sk), None)  # read absent: forget what an earlier write left

    def mapping_read(self, transfer: Transfer) -> tuple[bool, MappingRow | None]:
        """The push mapping of the transfer's document as `get` read it with the pointer (consistent, and
        the read that is a live attempt's claim): (True, row or None), once; (False, None) when `get` did
        not read it for this transfer. docs/ledger.md, "Reads and AWS calls per document"."""
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        key = (pk, _doc_sk(transfer.kind, transfer.source_id), transfer.transfer_id)
        if key not in self._maps:
            return False, None
        value = self._maps.pop(key)
        if value is None:
            return True, None
        from sevbridge.adapters.dynamo_mappings import mapping_row

        kind: MappingKind = "project" if transfer.kind is TransferKind.INVOICE_DRAFT else transfer.kind.value  # type: ignore[assignment]
        return True, mapping_row(kind, transfer.source_id, str(value))

    def keep(self, transfer: Transfer) -> Transfer:
        """Stores the current transfer's item (document and state) if it has none, so that it can be re-sent
        without its message: by the stranded-work tick (a redelivered message may end in the dead-letter
        queue), a retry, a resume. An open transfer is held inside the open tail first (its id is older
        than the tail the tick may have moved past). Returns it `stored`."""
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        pointer = self._seen.get((pk, _doc_sk(transfer.kind, transfer.source_id)))
        if transfer.stored or pointer is None or pointer.transfer_id != transfer.transfer_id:
            return transfer  # has one; or superseded: the archive step wrote its state, never re-sent
        if transfer.status in OPEN:
            self.hold_open(transfer.platform_id, transfer.tenant_id, [transfer.transfer_id])
        self._store_item(transfer)
        # The pointer was read before these writes: an offboarding in between must not get the item
        # back (C5), as `save` guards its own item. Off the happy path: one small consistent read.
        gone = "Item" not in aws_clients.dynamodb().get_item(
            TableName=self._table,
            Key=to_item({"pk": pk, "sk": _doc_sk(transfer.kind, transfer.source_id)}),
            ConsistentRead=True,
            ProjectionExpression="sk",
        )
        if gone:
            self._forget_item(transfer)
            if transfer.status in OPEN:  # the hold recreated the erased mark: the partition is to be empty
                aws_clients.dynamodb().delete_item(TableName=self._table, Key=to_item({"pk": pk, "sk": MARK_SK}))
            raise TransferGone(f"transfer {transfer.transfer_id} no longer exists")
        return transfer.model_copy(update={"stored": True})

    def _store_item(self, transfer: Transfer) -> None:
        """The transfer's item with its document; its state only where the item has none (an archive
        may have written a newer one meanwhile). Never an index entry: the pointer carries the current
        transfer's."""
        item = from_item(self._transfer_item(transfer))
        aws_clients.dynamodb().update_item(
            TableName=self._table,
            Key=to_item({"pk": item["pk"], "sk": item["sk"]}),
            UpdateExpression="SET #kind = :kind, source_id = :sid, created_at = :ca, #doc = :doc, "
            "st = if_not_exists(st, :st)",
            ExpressionAttributeNames={"#kind": "kind", "#doc": "doc"},
            ExpressionAttributeValues=to_item(
                {
                    ":kind": item["kind"],
                    ":sid": item["source_id"],
                    ":ca": item["created_at"],
                    ":doc": item["doc"],
                    ":st": item["st"],
                }
            ),
        )

    def _forget_item(self, transfer: Transfer) -> None:
        """Removes an item `_store_item` just wrote for a transfer whose document turned out erased."""
        aws_clients.dynamodb().delete_item(
            TableName=self._table,
            Key=to_item(
                {"pk": tenant_pk(transfer.platform_id, transfer.tenant_id), "sk": f"TRANSFER#{transfer.transfer_id}"}
            ),
        )

    def _transfer(
        self,
        platform_id: str,
        tenant_id: str,
        values: dict[str, Any],
        pointer: _Pointer | None,
        *,
        carried: TransferDocument | None = None,
    ) -> Transfer:
        """A transfer from its item, with the state from its document's pointer while it is the current one.
        An item without the document (the state of a transfer the archive step wrote without one): the
        message's document (`carried`) stands in; without one it reads like a pointer, no payload, and is
        not `stored` (never re-sent from it)."""
        transfer_id = values["sk"].removeprefix("TRANSFER#")
        current = pointer is not None and pointer.transfer_id == transfer_id
        if "doc" in values:
            doc = _unpack(values["doc"])
        elif carried is not None:
            doc = carried.model_dump(include={"event_id", "event_type", "manual", "source_version", "payload"})
        else:
            doc = (
                _facts(pointer)
                if pointer is not None and current
                else _facts(_Pointer.of({"tid": "", "ca": values.get("created_at"), **values}))
            )
        st = pointer.st if pointer is not None and current else _unpack(values["st"])
        base = {
            "transfer_id": transfer_id,
            "platform_id": platform_id,
            "tenant_id": tenant_id,
            "kind": values["kind"],
            "source_id": values["source_id"],
            "created_at": values.get("created_at") or _id_time(transfer_id),
            "stored": "doc" in values,
            **doc,
        }
        return Transfer.model_validate(_apply_state(base, st))

    def _current(self, platform_id: str, tenant_id: str, doc_sk: str, pointer: _Pointer) -> Transfer:
        """A document's current transfer from its pointer alone (it may have no item)."""
        _, kind, source_id = doc_sk.split("#", 2)
        base = {
            "transfer_id": pointer.transfer_id,
            "platform_id": platform_id,
            "tenant_id": tenant_id,
            "kind": kind,
            "source_id": source_id,
            "created_at": pointer.created_at or _id_time(pointer.transfer_id),
            **_facts(pointer),
        }
        return Transfer.model_validate(_apply_state(base, pointer.st))

    def _with_pointers(self, platform_id: str, tenant_id: str, raws: list[dict[str, Any]]) -> list[Transfer]:
        pk = tenant_pk(platform_id, tenant_id)
        keys = {_doc_sk(v["kind"], v["source_id"]) for v in raws}
        pointers = {sk: p for sk, v in self._batch_get(pk, keys).items() if (p := _Pointer.of(v)) is not None}
        return [
            self._transfer(platform_id, tenant_id, v, pointers.get(_doc_sk(v["kind"], v["source_id"]))) for v in raws
        ]

    def _indexed(
        self, platform_id: str, tenant_id: str, entries: list[dict[str, Any]], *, items: bool
    ) -> list[Transfer]:
        """The transfers of gsi1 entries (KEYS_ONLY: the base table's pk/sk and the transfer id), in entry
        order, each once, read from the entry's own item: a document's pointer for its current transfer
        (with the transfer's item too when `items`: a re-send needs the payload), else the transfer's item
        (with its document's pointer, in case the item is the current one after all)."""
        pk = tenant_pk(platform_id, tenant_id)
        keys = [e["sk"] for e in entries]
        if items:
            keys += [f"TRANSFER#{e['gsi1sk']}" for e in entries if e["sk"].startswith("DOC#")]
        got = self._batch_get(pk, keys)
        raws = [got[e["sk"]] for e in entries if e["sk"].startswith("TRANSFER#") and e["sk"] in got]
        found = {t.transfer_id: t for t in self._with_pointers(platform_id, tenant_id, raws)}
        for e in entries:
            pointer = _Pointer.of(got.get(e["sk"])) if e["sk"].startswith("DOC#") else None
            if pointer is None or pointer.transfer_id != e["gsi1sk"]:
                continue  # the index is eventually consistent: the pointer moved on meanwhile
            if (item := got.get(f"TRANSFER#{pointer.transfer_id}")) is not None:
                found[pointer.transfer_id] = self._transfer(platform_id, tenant_id, item, pointer)
            else:
                found[pointer.transfer_id] = self._current(platform_id, tenant_id, e["sk"], pointer)
        ids = dict.fromkeys(e["gsi1sk"] for e in entries)
        return [found[i] for i in ids if i in found]

    def _batch_get(
        self, pk: str, sort_keys: Iterable[str], projection: tuple[str, ...] = ()
    ) -> dict[str, dict[str, Any]]:
        """Items by key, 100 per call, retrying what DynamoDB left unprocessed; keyed by sk."""
        found: dict[str, dict[str, Any]] = {}
        client = aws_clients.dynamodb()
        wanted = sorted(set(sort_keys))
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {"Keys": [to_item({"pk": pk, "sk": sk}) for sk in wanted[start : start + 100]]}
            request["ConsistentRead"] = True
            if projection:
                request["ProjectionExpression"] = ", ".join(f"#{name}" for name in projection)
                request["ExpressionAttributeNames"] = {f"#{name}": name for name in projection}
            pending: Any = {self._table: request}
            while pending:
                response = client.batch_get_item(RequestItems=pending)
                for raw in response.get("Responses", {}).get(self._table, []):
                    values = from_item(raw)
                    found[values["sk"]] = values
                pending = response.get("UnprocessedKeys") or {}
        return found

    def lookup(self, platform_id: str, tenant_id: str, documents: list[DocumentKey]) -> list[DocumentState | None]:
        """The current state of each document (None: never accepted), read by key: one BatchGetItem per
        100 documents, no query of the tenant's partition."""
        pk = tenant_pk(platform_id, tenant_id)
        projection = ("sk", "tid", "st", "version", "eid", "eh")
        found = self._batch_get(pk, (_doc_sk(d.kind, d.source_id) for d in documents), projection)
        states: list[DocumentState | None] = []
        for document in documents:
            values = found.get(_doc_sk(document.kind, document.source_id))
            pointer = _Pointer.of(values) if values is not None else None
            states.append(_document_state(document.kind, document.source_id, pointer) if pointer else None)
        return states

    def with_status(self, platform_id: str, tenant_id: str, status: TransferStatus) -> list[Transfer]:
        """Failed and parked transfers come from the sparse index; `queued`/`sending` ones from the
        tenant's open tail (open_transfers); others are not looked for in bulk."""
        pk = tenant_pk(platform_id, tenant_id)
        if status in OPEN:
            return [t for t in self.open_transfers(platform_id, tenant_id) if t.status is status]
        if status not in INDEXED:
            return []
        entries: list[dict[str, Any]] = []
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :k",
            ExpressionAttributeValues={":k": {"S": _status_key(pk, status)}},
        ):
            entries += [from_item(i) for i in page.get("Items", [])]
        found = self._indexed(platform_id, tenant_id, entries, items=True)
        # The index is eventually consistent: keep only what is in that status now.
        return sorted((t for t in found if t.status is status), key=lambda t: t.transfer_id)

    def open_transfers(self, platform_id: str, tenant_id: str, *, advance: bool = False) -> list[Transfer]:
        """The tenant's `queued` and `sending` transfers, oldest first: its transfers from the low-water
        mark of open ones on (consistent reads, so nothing written before the pass is missed), within
        OPEN_WINDOW. `advance` (the schedule tick): afterwards, move the mark up to the oldest still open."""
        pk = tenant_pk(platform_id, tenant_id)
        opened = self._open_mark.begin(pk, OPEN_WINDOW)
        found = [
            t
            for page in self._pages(pk, after=transfer_sk_before(opened.start_ms), newest_first=False, consistent=True)
            # An item without a document was written by the archive step: superseded, never re-sent.
            for t in self._with_pointers(platform_id, tenant_id, [v for v in page if "doc" in v])
            if t.status in OPEN
        ]
        found.sort(key=lambda t: t.transfer_id)
        if advance:
            self._open_mark.advance(opened, found[0].transfer_id if found else None)
        return found

    def hold_open(self, platform_id: str, tenant_id: str, transfer_ids: list[str]) -> None:
        """Before settled transfers (failed, parked, or not stored yet) become `queued` again: keeps them
        inside what open_transfers reads, even if the state write after this never happens."""
        self._open_mark.hold(tenant_pk(platform_id, tenant_id), transfer_ids)

    def _pages(
        self,
        pk: str,
        *,
        after: str | None = None,
        newest_first: bool = True,
        filters: dict[str, Any] | None = None,
        consistent: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :k AND begins_with(sk, :t)",
            "ExpressionAttributeValues": {":k": {"S": pk}, ":t": {"S": "TRANSFER#"}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": consistent,
        }
        if filters:
            kwargs |= filters
            kwargs["ExpressionAttributeValues"] = {
                **filters["ExpressionAttributeValues"],
                ":k": {"S": pk},
                ":t": {"S": "TRANSFER#"},
            }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": after}}
        client = aws_clients.dynamodb()
        while True:
            response = client.query(**kwargs)
            yield [from_item(i) for i in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def query(self, platform_id: str, tenant_id: str, query: TransferQuery) -> TransferPage:
        """Newest first. Failed and parked transfers come from the sparse index. Otherwise each document's
        current transfer comes from its pointer (it may have no item: all of the tenant's `DOC#` items are
        read, a small projection — O(documents) per request, docs/ledger.md) and every other transfer from
        its item, page by page (at most MAX_PAGES per request, then a cursor); the two are merged by id."""
        pk = tenant_pk(platform_id, tenant_id)
        after_id = _decode_cursor(query.cursor) if query.cursor else None
        if query.status in INDEXED:
            return self._query_index(platform_id, tenant_id, query, after_id)
        pointers = self._documents(pk, query)
        current_ids = {p.transfer_id for p in pointers.values()}
        # Built into transfers only when the merge reaches them: a page needs a few of many documents.
        currents = sorted(
            ((sk, p) for sk, p in pointers.items() if after_id is None or p.transfer_id < after_id),
            key=lambda current: current[1].transfer_id,
            reverse=True,
        )
        items: list[Transfer] = []
        last_seen: str | None = None
        # The items of current transfers whose pointer was written before pointers recorded the event
        # type (no `et`: such a transfer always has its item). The merge passes a current transfer's item
        # before the transfer itself is due (ids descending), so it is read from it, as GET reads it.
        older_pointers = {p.transfer_id for p in pointers.values() if p.event_type is None}
        own_items: dict[str, dict[str, Any]] = {}

        def take(transfer: Transfer) -> bool:
            """Looks at the next transfer in order; True once the page is full."""
            nonlocal last_seen
            last_seen = transfer.transfer_id
            if query.status is None or transfer.status is query.status:
                items.append(transfer)
            return len(items) == query.limit

        def take_current(at: int) -> bool:
            doc_sk, pointer = currents[at]
            own = own_items.get(pointer.transfer_id)
            transfer = (
                self._transfer(platform_id, tenant_id, own, pointer)
                if own is not None
                else self._current(platform_id, tenant_id, doc_sk, pointer)
            )
            return take(transfer) if _matches(transfer, query) else False

        more = full = False
        at = 0  # the next current transfer to look at
        after = f"TRANSFER#{after_id}" if after_id else None
        for pages, raws in enumerate(self._pages(pk, after=after, filters=_item_filters(query)), start=1):
            for values in raws:
                transfer_id = values["sk"].removeprefix("TRANSFER#")
                while not full and at < len(currents) and currents[at][1].transfer_id > transfer_id:
                    full, at = take_current(at), at + 1
                if full:
                    break
                if transfer_id not in current_ids:  # the current one came from its pointer
                    full = take(self._transfer(platform_id, tenant_id, values, None))
                    if full:
                        break
                elif transfer_id in older_pointers:
                    own_items[transfer_id] = values
            if full or pages >= MAX_PAGES:
                more = True
                break
        else:
            while not full and at < len(currents):
                full, at = take_current(at), at + 1
            more = full
        cursor = _encode_cursor(last_seen) if more and last_seen else None
        return TransferPage(items=items, next_cursor=cursor)

    def _documents(self, pk: str, query: TransferQuery) -> dict[str, _Pointer]:
        """The tenant's document pointers (those of `query`'s kind and source id prefix), all pages, by sk:
        only what a transfer's listing shows. Eventually consistent (½ unit): a listing is a view."""
        prefix = "DOC#"
        if query.kind is not None:
            prefix += f"{query.kind.value}#{query.source_id or ''}"
        names = ("sk", "tid", "st", "version", "eid", "et", "ca", "man")
        paginator = aws_clients.dynamodb().get_paginator("query")
        found: dict[str, _Pointer] = {}
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :k AND begins_with(sk, :d)",
            ExpressionAttributeValues={":k": {"S": pk}, ":d": {"S": prefix}},
            ProjectionExpression=", ".join(f"#{n}" for n in names),
            ExpressionAttributeNames={f"#{n}": n for n in names},
        ):
            for raw in page.get("Items", []):
                values = from_item(raw)
                if (pointer := _Pointer.of(values)) is not None:
                    found[values["sk"]] = pointer
        return found

    def _query_index(
        self, platform_id: str, tenant_id: str, query: TransferQuery, after_id: str | None
    ) -> TransferPage:
        assert query.status is not None
        pk = tenant_pk(platform_id, tenant_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :k",
            "ExpressionAttributeValues": {":k": {"S": _status_key(pk, query.status)}},
            "ScanIndexForward": False,
        }
        items: list[Transfer] = []
        last_seen: str | None = None
        more = False
        client = aws_clients.dynamodb()
        if after_id:
            kwargs["KeyConditionExpression"] += " AND gsi1sk < :after"
            kwargs["ExpressionAttributeValues"][":after"] = {"S": after_id}
        while True:
            response = client.query(**kwargs)
            entries = [from_item(i) for i in response.get("Items", [])]
            for transfer in self._indexed(platform_id, tenant_id, entries, items=False):
                last_seen = transfer.transfer_id
                if transfer.status is query.status and _matches(transfer, query):
                    items.append(transfer)
                if len(items) == query.limit:
                    break
            if len(items) == query.limit:
                more = True
                break
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return TransferPage(items=items, next_cursor=_encode_cursor(last_seen) if more and last_seen else None)


def _item_filters(query: TransferQuery) -> dict[str, Any] | None:
    """The listing's filters on transfer items (a FilterExpression: what is read is still paid)."""
    filters: list[str] = []
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for attr, value in (("kind", query.kind.value if query.kind else None), ("source_id", query.source_id)):
        if value is not None:
            filters.append(f"#{attr} = :{attr}")
            names[f"#{attr}"] = attr
            values[f":{attr}"] = {"S": value}
    if query.since is not None:
        filters.append("created_at >= :since")
        values[":since"] = {"S": query.since.isoformat()}
    if query.until is not None:
        filters.append("created_at < :until")
        values[":until"] = {"S": query.until.isoformat()}
    if not filters:
        return None
    extra: dict[str, Any] = {"FilterExpression": " AND ".join(filters), "ExpressionAttributeValues": values}
    if names:
        extra["ExpressionAttributeNames"] = names
    return extra


def _matches(transfer: Transfer, query: TransferQuery) -> bool:
    return (
        (query.kind is None or transfer.kind is query.kind)
        and (query.source_id is None or transfer.source_id == query.source_id)
        and (query.since is None or transfer.created_at >= query.since)
        and (query.until is None or transfer.created_at < query.until)
    )


def _left(pointer: _Pointer | None) -> tuple[str, int, int] | None:
    """The claim a pointer moving on leaves for its transfer, if that one is still pending on the transfer
    queue: a live attempt writes nothing before it calls sevDesk, so it may be mid-attempt (or have died
    in one) without a trace. Left as an expired claim (it never holds anyone back), it makes the next
    transfer to attempt the document reconcile, unless the replaced transfer's own outcome (it runs
    first: FIFO) settles the document before."""
    if pointer is None or pointer.claim is not None or pointer.live != pointer.transfer_id:
        return None
    if TransferStatus(pointer.st["s"]) not in OPEN or not pointer.version:
        return None
    return (pointer.transfer_id, 0, _micros(datetime.fromisoformat(pointer.version)))


def _facts(pointer: _Pointer | None) -> dict[str, Any]:
    """The document part of a transfer (what its item's `doc` holds) as a pointer records it: no payload
    (it travelled in the transfer's queue message). The same attributes on an item without `doc`."""
    if pointer is None:
        return {"event_id": "", "event_type": "", "source_version": datetime.fromtimestamp(0, UTC), "payload": {}}
    return {
        "event_id": pointer.event_id or "",
        "event_type": pointer.event_type or "",
        "manual": pointer.manual,
        "source_version": pointer.version or pointer.created_at or datetime.fromtimestamp(0, UTC),
        "payload": {},
    }


def _id_time(transfer_id: str) -> datetime:
    """When a transfer id was made (its leading ms): the creation time of a transfer that recorded none."""
    return datetime.fromtimestamp(id_ms(transfer_id) / 1000, UTC)


def _live_mark(transfer: Transfer) -> dict[str, Any]:
    """The pointer's mark of its pending live transfer, and — an invoice's or a project draft's — the
    customer it carries (`cust`): the import's pending platform versions (M7) read it from the pointer,
    since a live transfer's document travels in its queue message, not on an item."""
    values: dict[str, Any] = {"live": transfer.transfer_id}
    customer = transfer.payload.get("customer") if transfer.kind is not TransferKind.CONTACT else None
    source_id = customer.get("source_id") if isinstance(customer, dict) else None
    if isinstance(source_id, str) and source_id:
        values["cust"] = source_id
    return values


def _mapping_attr(mapping: MappingRow | None) -> dict[str, Any]:
    """The `map` attribute of the document item for `mapping` ({} for none)."""
    if mapping is None:
        return {}
    # Loaded only when a push ran: the ledger is on cold paths that never push.
    from sevbridge.adapters.dynamo_mappings import MAP_ATTR, mapping_value

    return {MAP_ATTR: mapping_value(mapping)}


def _released(unsure: int, transfer: Transfer, mine: int) -> int:
    """The unsettled mark (`unsure` before) after `transfer`'s attempt ends: raised to its version if its
    outcome is unknown; cleared if it settled and reconciled every attempt it was told about; else left
    as it is (an older version that stood back for a newer unsettled attempt has not settled that one)."""
    if transfer.uncertain:
        return max(unsure, mine)
    seen = _micros(transfer.unsettled_version) if transfer.unsettled_version else 0
    return 0 if seen <= mine else unsure


_CURSOR_ID = re.compile(TRANSFER_ID_PATTERN)


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        last_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        last_id = ""
    if not _CURSOR_ID.fullmatch(last_id):
        raise InvalidInput(
            "cursor is not valid", details=[{"field": "query.cursor", "problem": "not a cursor from this API"}]
        )
    return last_id
