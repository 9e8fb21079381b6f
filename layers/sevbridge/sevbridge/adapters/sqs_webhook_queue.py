"""Dispatch messages on the webhook queue (standard SQS: per-message DelaySeconds carries the backoff).

Best effort by contract: the outbox is the truth and the schedule tick re-sends what is overdue, so a
queue outage delays deliveries but loses none; failures are logged, never raised."""

from __future__ import annotations

import json
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.common.observability import logger
from sevbridge.domain.notify.ports import DispatchMessage


def message_body(message: DispatchMessage) -> str:
    ref = message.ref
    return json.dumps(
        {"platform_id": ref.platform_id, "tenant_id": ref.tenant_id, "delivery_id": ref.delivery_id, "seq": message.seq}
    )


class SqsDispatchQueue:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def enqueue(self, messages: Sequence[DispatchMessage]) -> int:
        sent = 0
        client = aws_clients.sqs()
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [
                {"Id": str(i), "MessageBody": message_body(m), "DelaySeconds": max(0, min(m.delay_seconds, 900))}
                for i, m in enumerate(chunk)
            ]
            try:
                response = client.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                logger.warning(
                    "webhook queue unavailable; the schedule tick will send these deliveries",
                    extra={"count": len(chunk), "error_type": type(exc).__name__},
                )
                continue
            failed = response.get("Failed", [])
            if failed:
                logger.warning(
                    "webhook queue refused messages; the schedule tick will send them",
                    extra={"count": len(failed), "codes": sorted({str(f.get("Code")) for f in failed})},
                )
            sent += len(chunk) - len(failed)
        return sent
