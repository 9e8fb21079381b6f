"""What a page of `GET …/transfers` costs for a tenant with many documents, for `make bench` (docs/ledger.md,
"Reading transfers"): a document's current transfer may have no item, so the listing reads every `DOC#`
pointer of the tenant (one Query, all pages, a small projection) and merges them with the items of older
transfers. O(documents) per request: this measures how much.

The tenant: N documents, each pointer a copy of a real one (an invoice through intake and the worker:
state, event, mapping), no item for the current transfers, and N/10 older transfers with the state-only
items the archive step writes.
Measured on the real code (the API handler) against moto; DynamoDB calls and items counted by
benchmarks/aws_calls.py, read units computed as DynamoDB bills a Query (the size of every item read,
before the projection, per started 4 KB of each 1 MB page; ½ eventually consistent)."""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks.aws_calls import counting

DOCUMENTS = 10_000
PAGE = 1024 * 1024  # DynamoDB's Query page: 1 MB of items read


def measure_listing(stack: Any, state: Any, documents: int = DOCUMENTS) -> dict[str, Any]:
    import functions.api.app as api_app
    from sevbridge import wiring
    from sevbridge.adapters import aws_clients
    from sevbridge.adapters.dynamo_items import tenant_pk
    from sevbridge.config import get_settings
    from sevbridge.domain.ledger import TransferKind, event_transfer_id, new_transfer_id
    from sevbridge.domain.platforms import create_platform
    from tests.support.api_client import HandlerApiClient
    from tests.support.events import load_event
    from tests.support.worker import drain
    from tests.support.write_meter import item_size

    platform, key = create_platform(wiring.platform_store(), wiring.clock(), "listing bench")
    api = HandlerApiClient(api_app.lambda_handler, api_key=key)
    tenant = "listing-10k"
    account = state.create_account(name="Listing GmbH")
    connection = {"sevdesk_token": account.token, "settings": {"unit_mapping": {"h": "Std"}}}
    assert api.put(f"/v1/tenants/{tenant}/connection", json_body=connection).status == 201
    assert (
        api.post(f"/v1/tenants/{tenant}/events", json_body=load_event("platform-invoice-upserted.json")).status == 202
    )
    drain(stack)
    client, table, pk = aws_clients.dynamodb(), get_settings().ledger_table, tenant_pk(platform.platform_id, tenant)
    (pointer,) = client.query(
        TableName=table,
        KeyConditionExpression="pk = :k AND begins_with(sk, :d)",
        ExpressionAttributeValues={":k": {"S": pk}, ":d": {"S": "DOC#invoice#"}},
    )["Items"]
    # The happy path wrote no item; an older transfer's item is the state-only one the archive step
    # writes when a pointer moves on (dynamo_ledger `_archive`), taken from the pointer's attributes.
    facts = {"created_at": "ca", "eid": "eid", "et": "et", "version": "version", "st": "st"}
    item = {"pk": pointer["pk"], "kind": {"S": "invoice"}, "arev": pointer.get("rev", {"N": "1"})}
    item |= {name: pointer[attribute] for name, attribute in facts.items() if attribute in pointer}
    writes: list[dict[str, Any]] = []
    for n in range(documents):
        source_id = f"inv-{n:05d}"
        if n % 10 == 0:  # an older transfer of this document, with its item
            older = event_transfer_id(new_transfer_id(), 0, TransferKind.INVOICE, source_id)
            writes.append({**item, "sk": {"S": f"TRANSFER#{older}"}, "source_id": {"S": source_id}})
        current = event_transfer_id(new_transfer_id(), 0, TransferKind.INVOICE, source_id)
        writes.append({**pointer, "sk": {"S": f"DOC#invoice#{source_id}"}, "tid": {"S": current}})
    for start in range(0, len(writes), 25):
        request: Any = {table: [{"PutRequest": {"Item": w}} for w in writes[start : start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    pointer_bytes = item_size(pointer) + len(f"inv-{documents:05d}") - len("inv-2026-020")
    read_bytes = (documents + 1) * pointer_bytes
    pages = math.ceil(read_bytes / PAGE)
    read_units = sum(math.ceil(min(PAGE, read_bytes - p * PAGE) / 4096) for p in range(pages)) / 2

    def page(query: dict[str, str]) -> dict[str, Any]:
        with counting(existing=(client,)) as calls:
            started = time.perf_counter()
            answer = api.get(f"/v1/tenants/{tenant}/transfers", query=query)
            seconds = time.perf_counter() - started
        assert answer.status == 200, answer.body
        return {
            "seconds": seconds,
            "items": len(answer.json["items"]),
            "cursor": answer.json["next_cursor"],
            "dynamodb_calls": {k.removeprefix("dynamodb."): v for k, v in calls.calls.items() if "dynamodb" in k},
            "items_read": calls.items_read,
        }

    first = page({"limit": "50"})
    second = page({"limit": "50", "cursor": first["cursor"]})
    return {
        "documents": documents,
        "older_items": documents // 10,
        "pointer_bytes": pointer_bytes,
        "pointer_pages_on_aws": pages,
        "pointer_read_units": read_units,
        "first": first,
        "second": second,
    }


if __name__ == "__main__":
    from benchmarks.run import with_stack

    def body(stack: Any, state: Any) -> list[Any]:
        print(measure_listing(stack, state))
        return []

    with_stack(body)
