"""Holding received messages back for a chosen time (ChangeMessageVisibility), so that a failed
transfer comes back after its own backoff instead of the queue's visibility timeout."""

from __future__ import annotations

import math

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients

MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit


class SqsVisibility:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def hold_back(self, receipts: list[tuple[str, float]]) -> int:
        """Makes each (receipt handle, seconds) message visible again after that many seconds.
        Returns how many could not be changed: those come back after the queue's visibility timeout,
        which is slower but loses nothing, so the caller logs it rather than failing."""
        client = aws_clients.sqs()
        failed = 0
        for start in range(0, len(receipts), 10):
            chunk = receipts[start : start + 10]
            entries = [
                {
                    "Id": str(i),
                    "ReceiptHandle": handle,
                    "VisibilityTimeout": min(MAX_VISIBILITY_SECONDS, max(0, math.ceil(seconds))),
                }
                for i, (handle, seconds) in enumerate(chunk)
            ]
            try:
                response = client.change_message_visibility_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError):
                failed += len(chunk)
                continue
            failed += len(response.get("Failed") or [])
        return failed
