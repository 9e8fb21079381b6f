"""Import messages on the FIFO queue: message group = tenant (one import of a tenant at a time, in
order; tenants in parallel), deduplication id chosen by the sender (see ImportMessage.dedup_id)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.domain.errors import TemporarilyUnavailable
from sevbridge.domain.pull.messages import ImportMessage

_NOT_QUEUED = "the import could not be queued; try again in a moment"


class SqsImportQueue:
    """Implements sevbridge.domain.pull.scheduling.ImportQueue."""

    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def _entry(self, index: int, message: ImportMessage) -> dict[str, str]:
        return {
            "Id": str(index),
            "MessageBody": message.model_dump_json(exclude={"dedup_id"}),
            "MessageGroupId": tenant_pk(message.platform_id, message.tenant_id),
            "MessageDeduplicationId": message.dedup_id,
        }

    def send(self, message: ImportMessage) -> None:
        if not all(self.send_batch([message])):
            raise TemporarilyUnavailable(_NOT_QUEUED)

    def send_batch(self, messages: list[ImportMessage]) -> list[bool]:
        if not messages:
            return []
        if len(messages) > 10:
            raise ValueError("at most 10 messages per batch")
        try:
            response = aws_clients.sqs().send_message_batch(
                QueueUrl=self._url,
                Entries=[self._entry(i, m) for i, m in enumerate(messages)],  # type: ignore[misc]
            )
        except (ClientError, BotoCoreError):
            return [False] * len(messages)
        failed = {int(entry["Id"]) for entry in response.get("Failed", [])}
        return [index not in failed for index in range(len(messages))]
