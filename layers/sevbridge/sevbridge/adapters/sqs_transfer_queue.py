"""Transfer messages on the FIFO queue: message group = tenant (order per tenant, tenants in parallel)."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.domain.errors import TemporarilyUnavailable
from sevbridge.domain.lanes import lane_keys
from sevbridge.domain.ledger import Transfer, short_id

_NOT_QUEUED = "the events were recorded but could not be queued; send the same events again (same ids) to finish"


def _body(transfer: Transfer) -> str:
    # `lane`: what the transfer touches, so the worker can run a tenant's batch in lanes without
    # reading every ledger row first (domain/lanes.py).
    return json.dumps(
        {
            "platform_id": transfer.platform_id,
            "tenant_id": transfer.tenant_id,
            "transfer_id": transfer.transfer_id,
            "lane": lane_keys(transfer).model_dump(exclude_defaults=True),
        }
    )


class SqsTransferQueue:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def enqueue(self, transfers: list[Transfer]) -> None:
        client = aws_clients.sqs()
        for start in range(0, len(transfers), 10):
            chunk = transfers[start : start + 10]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": _body(t),
                    "MessageGroupId": tenant_pk(t.platform_id, t.tenant_id),
                    # A re-enqueued transfer (retry, resume) must not be swallowed by the 5-minute dedup window.
                    # The short id: a whole id names its document and may exceed SQS's 128 characters.
                    "MessageDeduplicationId": f"{short_id(t.transfer_id)}.{t.requeues}",
                }
                for i, t in enumerate(chunk)
            ]
            try:
                response = client.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                raise TemporarilyUnavailable(_NOT_QUEUED, details=[{"reason": type(exc).__name__}]) from None
            if response.get("Failed"):
                codes = sorted({str(f.get("Code")) for f in response["Failed"]})
                raise TemporarilyUnavailable(_NOT_QUEUED, details=[{"reason": ", ".join(codes)}])
