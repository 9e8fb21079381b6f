"""Transfer messages on the FIFO queue: message group = tenant (order per tenant, tenants in parallel).

A message carries its transfer's document (adapters/transfer_message.py) unless that is too big: then
the ledger holds it on the transfer's item. Batches are cut by count (10) and by size (SQS takes at most
256 KB per SendMessageBatch)."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.adapters.transfer_message import carried
from sevbridge.domain.errors import TemporarilyUnavailable
from sevbridge.domain.lanes import lane_keys
from sevbridge.domain.ledger import Transfer, short_id

# What one SendMessageBatch may carry, with room for the entries' ids and attributes.
BATCH_BYTES = 250_000
BATCH_ENTRIES = 10
_NOT_QUEUED = "the events were recorded but could not be queued; send the same events again (same ids) to finish"


def _body(transfer: Transfer) -> str:
    # `lane`: what the transfer touches, so the worker can run a tenant's batch in lanes without
    # reading every ledger row first (domain/lanes.py).
    body: dict[str, object] = {
        "platform_id": transfer.platform_id,
        "tenant_id": transfer.tenant_id,
        "transfer_id": transfer.transfer_id,
        "lane": lane_keys(transfer).model_dump(exclude_defaults=True),
    }
    document = carried(transfer)
    if document is not None:
        body["doc"] = document  # the worker needs no transfer item (docs/ledger.md)
    return json.dumps(body, separators=(",", ":"))  # ASCII: SQS refuses some code points


def _batches(transfers: list[Transfer]) -> list[list[tuple[Transfer, str]]]:
    """In order, at most BATCH_ENTRIES messages and BATCH_BYTES of bodies per batch."""
    batches: list[list[tuple[Transfer, str]]] = []
    size = 0
    for transfer in transfers:
        body = _body(transfer)
        length = len(body.encode())
        if not batches or len(batches[-1]) == BATCH_ENTRIES or size + length > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append((transfer, body))
        size += length
    return batches


class SqsTransferQueue:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def enqueue(self, transfers: list[Transfer]) -> None:
        client = aws_clients.sqs()
        for chunk in _batches(transfers):
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": body,
                    "MessageGroupId": tenant_pk(t.platform_id, t.tenant_id),
                    # A re-enqueued transfer (retry, resume) must not be swallowed by the 5-minute dedup window.
                    # The short id: a whole id names its document and may exceed SQS's 128 characters.
                    "MessageDeduplicationId": f"{short_id(t.transfer_id)}.{t.requeues}",
                }
                for i, (t, body) in enumerate(chunk)
            ]
            try:
                response = client.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                raise TemporarilyUnavailable(_NOT_QUEUED, details=[{"reason": type(exc).__name__}]) from None
            if response.get("Failed"):
                codes = sorted({str(f.get("Code")) for f in response["Failed"]})
                raise TemporarilyUnavailable(_NOT_QUEUED, details=[{"reason": ", ".join(codes)}])
