"""Record handlers for capabilities that later issues fill in (imports, backfills, webhooks).

Nothing enqueues to these queues yet; if something did, the record fails loudly (and reaches the DLQ
after the redrive limit) instead of being acknowledged and lost."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


class CapabilityNotBuiltYet(RuntimeError):
    pass


def not_built_yet(capability: str) -> object:
    def handle(record: SQSRecord) -> None:
        raise CapabilityNotBuiltYet(f"{capability} is not built yet; message {record.message_id} kept for redrive")

    return handle
