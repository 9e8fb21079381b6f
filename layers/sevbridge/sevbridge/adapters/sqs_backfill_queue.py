"""Backfill messages on their own FIFO queue: group = tenant, so one tenant's backfill is one serial
stream (next to its live transfers on the transfer queue) while tenants run in parallel."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.domain.backfill.ports import BackfillMessage
from sevbridge.domain.errors import TemporarilyUnavailable

_NOT_QUEUED = "the backfill could not be queued; send the same request again"


class SqsBackfillQueue:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def send(self, messages: Sequence[BackfillMessage], *, dedup_ids: Sequence[str]) -> None:
        client = aws_clients.sqs()
        pairs = list(zip(messages, dedup_ids, strict=True))
        for start in range(0, len(pairs), 10):
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": message.model_dump_json(),
                    "MessageGroupId": tenant_pk(message.platform_id, message.tenant_id),
                    "MessageDeduplicationId": dedup[:128],
                }
                for i, (message, dedup) in enumerate(pairs[start : start + 10])
            ]
            try:
                response = client.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                raise TemporarilyUnavailable(_NOT_QUEUED, details=[{"reason": type(exc).__name__}]) from None
            if response.get("Failed"):
                codes = sorted({str(f.get("Code")) for f in response["Failed"]})
                raise TemporarilyUnavailable(_NOT_QUEUED, details=[{"reason": ", ".join(codes)}])
