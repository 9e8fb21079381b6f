"""A document's current transfer may have no `TRANSFER#` item: a live transfer's document travels in its
queue message, and its pointer holds its state (docs/ledger.md, "Reading transfers"). Its id names its
document, so every reader finds it on the pointer: GET by id, the listing (merged with the items of older
transfers, newest first, each once), the failed/parked index. Each test reads the ledger as the write
path leaves it (live transfers have no item; a failed one has) and again after the current transfers'
remaining items are deleted too (tests/support/ledger_items.forget_transfer_items): the same answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.config import get_settings
from sevbridge.domain.ledger import document_of, stem_of
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_items import forget_transfer_items, transfer_items
from tests.support.worker import drain, queue_depth

pytestmark = pytest.mark.functional
TRANSFERS = "/v1/tenants/school-42/transfers"
EVENTS = "/v1/tenants/school-42/events"
STATUSES = ("queued", "failed", "transferred")


def invoice(source_id: str, event_id: str, occurred_at: str = "2026-11-21T14:00:00+01:00") -> dict[str, Any]:
    return load_event(
        "platform-invoice-upserted.json",
        id=event_id,
        occurred_at=occurred_at,
        data__source_id=source_id,
        data__number=f"PL-{event_id}",
    )


def walk(api: HandlerApiClient, query: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Every page of a listing, following the cursor."""
    items: list[dict[str, Any]] = []
    params = {**query, "limit": str(limit)}
    while True:
        answer = api.get(TRANSFERS, query=params)
        assert answer.status == 200, answer.body
        items += answer.json["items"]
        if not answer.json["next_cursor"]:
            return items
        params["cursor"] = answer.json["next_cursor"]


def everything(api: HandlerApiClient, ids: list[str]) -> dict[str, Any]:
    """Each transfer by id, and every listing (filters, page sizes); each listing checked against the
    unfiltered one, so a reader that loses a transfer fails here, with or without items."""
    queries = [{}, {"kind": "invoice"}, {"source_id": "inv-a"}, *({"status": s} for s in STATUSES)]
    lists = [walk(api, q, limit) for q in queries for limit in (1, 2, 50)]
    full = lists[0]
    assert [t["transfer_id"] for t in full] == ids
    for n, query in enumerate(queries):
        wanted = [t for t in full if all(t[k] == v for k, v in query.items())]
        assert lists[3 * n] == lists[3 * n + 1] == lists[3 * n + 2] == wanted, query
    # The created_at filters, on pointers and on items alike.
    middle = full[len(full) // 2]["created_at"]
    at = datetime.fromisoformat(middle)
    created = [(t, datetime.fromisoformat(t["created_at"])) for t in full]
    assert walk(api, {"since": middle}, 2) == [t for t, c in created if c >= at]
    assert walk(api, {"until": middle}, 2) == [t for t, c in created if c < at]
    shown = {i: api.get(f"{TRANSFERS}/{i}").json for i in ids}
    assert [{k: shown[t["transfer_id"]][k] for k in t} for t in full] == full
    return {"get": shown, "lists": lists}


def test_get_list_and_index_read_current_transfers_from_their_pointers(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    # inv-a: transferred, then a newer version queued (the older one is archived onto its own item);
    # inv-f: failed (a unit with no mapping: the index entry is on its pointer); inv-b, cust: queued.
    assert api.post(EVENTS, json_body=invoice("inv-a", "evt-a1", "2026-11-21T14:00:00+01:00")).status == 202
    failing = invoice("inv-f", "evt-f")
    failing["data"]["positions"][0]["unit"] = "Fass"
    assert api.post(EVENTS, json_body=failing).status == 202
    drain(aws)
    assert api.post(EVENTS, json_body=invoice("inv-a", "evt-a2", "2026-11-22T14:00:00+01:00")).status == 202
    assert api.post(EVENTS, json_body=invoice("inv-b", "evt-b")).status == 202
    contact = load_event("platform-contact-upserted.json")
    contact["type"] = "contact.transfer_requested"  # manual: the pointer must say so too
    assert api.post(EVENTS, json_body=contact).status == 202

    listed = walk(api, {}, 50)
    ids = [t["transfer_id"] for t in listed]
    assert ids == sorted(set(ids), reverse=True)  # newest first, each once
    assert [(t["source_id"], t["status"]) for t in listed] == [
        ("inv-2026-014", "skipped"),  # the contact event's invoices (one event: one stem, positions 3…1)
        ("inv-2025-117", "skipped"),
        ("inv-2026-001", "queued"),
        ("cust-1001", "queued"),
        ("inv-b", "queued"),
        ("inv-a", "queued"),
        ("inv-f", "failed"),
        ("inv-a", "transferred"),  # the older transfer of inv-a: not current, read from its own item
    ]
    assert len({stem_of(i) for i in ids[:4]}) == 1
    assert all(document_of(i) is not None for i in ids)
    assert [(d.kind.value, d.source_id) for d in map(document_of, ids) if d] == [
        (t["kind"], t["source_id"]) for t in listed
    ]
    before = everything(api, ids)
    # Only inv-f's current transfer has an item (failed: written before its pointer); the live ones never
    # had one (their documents travel in their messages); inv-a's older one stays.
    assert forget_transfer_items() == 1
    assert len(transfer_items()) == 1
    assert everything(api, ids) == before


def test_a_malformed_document_part_is_an_unknown_transfer(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    assert api.post(EVENTS, json_body=invoice("inv-a", "evt-a")).status == 202
    (real,) = walk(api, {}, 50)
    stem = real["transfer_id"].partition(".")[0]
    for wrong in (
        f"{stem}.iYR",  # not the canonical base64url of anything (stray bits)
        f"{stem}.i_w",  # not UTF-8
        f"{stem}.iaW52LWI",  # another document (inv-b): no such pointer
        f"{stem}.caW52LWE",  # another kind
        stem,  # an id from before ids named their document, never stored
    ):
        answer = api.get(f"{TRANSFERS}/{wrong}")
        assert (answer.status, answer.json["error"]["code"]) == (404, "not_found"), wrong
    assert api.get(f"{TRANSFERS}/{stem}.x1").status == 422  # not a transfer id at all: the path's pattern


def test_the_longest_source_id_fits_in_a_transfer_id(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    longest = "\U0001f436" * 128  # 128 characters of 4 UTF-8 bytes: the sort keys stay under 1024 bytes
    sent: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.extend(params.get("Entries", []))

    sqs = aws_clients.sqs()
    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", capture, unique_id="long-ids")
    try:
        assert api.post(EVENTS, json_body=invoice(longest, "evt-long")).status == 202
    finally:
        sqs.meta.events.unregister("before-parameter-build.sqs.SendMessageBatch", unique_id="long-ids")
    # SQS (not moto) refuses a FIFO deduplication id over 128 characters: the message uses the short id.
    assert [len(e["MessageDeduplicationId"]) <= 128 for e in sent] == [True]
    (listed,) = walk(api, {}, 50)
    assert len(f"TRANSFER#{listed['transfer_id']}".encode()) <= 1024
    document = document_of(listed["transfer_id"])
    assert document is not None and document.source_id == longest
    forget_transfer_items()
    shown = api.get(f"{TRANSFERS}/{listed['transfer_id']}")
    assert (shown.status, shown.json["source_id"], shown.json["status"]) == (200, longest, "queued")
    page = api.get(TRANSFERS, query={"limit": "1"}).json
    assert page["items"] == [listed] and page["next_cursor"] is not None  # a cursor of the longest id
    assert api.get(TRANSFERS, query={"limit": "1", "cursor": page["next_cursor"]}).json["items"] == []


def test_nothing_runs_or_re_sends_a_transfer_whose_document_is_not_stored(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    """Shown from its pointer, a current transfer without its item has no payload: the ledger's plain read
    (what the worker and a re-send use) does not hand it out, and a retry is refused (409, nothing queued)
    rather than sending an empty document."""
    failing = invoice("inv-f", "evt-f")
    failing["data"]["positions"][0]["unit"] = "Fass"
    assert api.post(EVENTS, json_body=failing).status == 202
    drain(aws)
    (failed,) = walk(api, {}, 50)
    assert failed["status"] == "failed"
    assert forget_transfer_items() == 1
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    assert wiring.ledger().get(platform_id, "school-42", failed["transfer_id"]) is None
    assert wiring.ledger().get(platform_id, "school-42", failed["transfer_id"], shown=True) is not None
    answer = api.post(f"{TRANSFERS}/{failed['transfer_id']}/retry")
    assert answer.status == 409, answer.body
    assert api.post(f"{TRANSFERS}/retry").json["retried"] == 0
    assert queue_depth(aws, "TransferQueue") == 0
    assert api.get(f"{TRANSFERS}/{failed['transfer_id']}").json["status"] == "failed"


def test_a_live_invoices_pointer_names_its_customer_until_it_settles(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    """`cust` goes with `live` (the import's pending platform versions read it, docs/ledger.md): written by
    intake's pointer write, removed by the outcome that clears `live`."""

    def pointer() -> dict[str, Any]:
        platform_id = wiring.connection_store().list_connections()[0].platform_id
        return boto3.client("dynamodb").get_item(
            TableName=get_settings().ledger_table,
            Key={"pk": {"S": tenant_pk(platform_id, "school-42")}, "sk": {"S": "DOC#invoice#inv-c"}},
        )["Item"]

    assert api.post(EVENTS, json_body=invoice("inv-c", "evt-c")).status == 202
    queued = pointer()
    assert (queued["live"]["S"], queued["cust"]["S"]) == (queued["tid"]["S"], "cust-2002")
    drain(aws)
    settled = pointer()
    assert "live" not in settled and "cust" not in settled


def test_a_pointer_written_before_pointers_named_the_event_type_lists_as_get_shows_it(
    api: HandlerApiClient, connected: Any, aws: Any, sent: Any
) -> None:
    """A pointer written before this layout has no `et`/`ca`/`man`, and its transfer has an item (every
    transfer had one then): the listing reads that transfer from its item, as GET does, not from the
    pointer alone (an empty event type)."""
    from sevbridge.domain.transfer_runner import Delivery
    from sevbridge.workers.transfers import runner

    answer = api.post(EVENTS, json_body=invoice("inv-m", "ev-m"))
    assert answer.status == 202
    transfer_id = answer.json["results"][0]["transfers"][0]["transfer_id"]
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    # A redelivery stores the item (document and state), as every transfer had one before this layout.
    done = runner().run(
        platform_id, "school-42", transfer_id, delivery=Delivery("m-1", 2), carried=sent.document(transfer_id)
    )
    assert done is not None and transfer_items()
    key = {"pk": {"S": tenant_pk(platform_id, "school-42")}, "sk": {"S": "DOC#invoice#inv-m"}}
    aws_clients.dynamodb().update_item(
        TableName=get_settings().ledger_table, Key=key, UpdateExpression="REMOVE et, ca, man"
    )
    shown = api.get(f"{TRANSFERS}/{transfer_id}").json
    (listed,) = api.get(TRANSFERS).json["items"]
    fields = ("transfer_id", "status", "event_id", "event_type", "created_at", "source_version", "manual")
    assert {f: listed[f] for f in fields} == {f: shown[f] for f in fields}
    assert listed["event_type"] == "invoice.upserted"
