"""Transfer worker: one SQS FIFO record = one transfer to run (the ledger holds the payload)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel

from sevbridge import wiring
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.gateway import build_push_service
from sevbridge.common.observability import logger, metrics
from sevbridge.config import get_settings
from sevbridge.domain.connection import Connection
from sevbridge.domain.connections import tenant_key
from sevbridge.domain.intake import business_day
from sevbridge.domain.transfer_runner import PushServicePort, TransferRunner


class TransferMessage(BaseModel):
    platform_id: str
    tenant_id: str
    transfer_id: str


def _push_factory(connection: Connection, token: str) -> PushServicePort:
    settings = get_settings()
    client = SevdeskClient(
        token,
        base_url=settings.sevdesk_base_url,
        tenant_key=tenant_key(connection.platform_id, connection.tenant_id),
        timeout=settings.sevdesk_timeout_seconds,
        max_attempts=settings.sevdesk_max_attempts,
        max_backoff=settings.sevdesk_max_backoff_seconds,
    )
    today = business_day(wiring.clock().now())
    service: PushServicePort = build_push_service(
        client, connection.platform_id, connection.tenant_id, connection.settings, today
    )
    return service


def runner() -> TransferRunner:
    # Built from the composition root's cached parts, so wiring.reset() reaches it too.
    return wiring.transfer_runner(_push_factory)


def handle_record(record: SQSRecord) -> None:
    message = TransferMessage.model_validate_json(record.body)
    logger.append_keys(platform_id=message.platform_id, tenant_id=message.tenant_id, transfer_id=message.transfer_id)
    receive_count = int(record.attributes.approximate_receive_count or 1)
    transfer = runner().run(message.platform_id, message.tenant_id, message.transfer_id, receive_count=receive_count)
    if transfer is not None:
        logger.info(
            "transfer processed",
            extra={
                "status": transfer.status.value,
                "kind": transfer.kind.value,
                "sevdesk_id": transfer.sevdesk_id,
                "attempts": transfer.attempts,
            },
        )
        metrics.add_metric(name=f"Transfer_{transfer.status.value}", unit="Count", value=1)
