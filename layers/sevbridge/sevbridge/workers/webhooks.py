"""Webhook dispatcher: one SQS record = one attempt of one delivery (the outbox holds the delivery)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from sevbridge import wiring
from sevbridge.common.model import Model
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.notify.deliveries import DeliveryRef
from sevbridge.domain.notify.ports import DispatchMessage

# Below this much remaining invocation time an attempt (connect 3 s + send/read 5 s each) is not started:
# the record is handed back to the queue at once instead of being cut off mid-request.
MIN_REMAINING_MS = 20_000


class DispatchBody(Model):
    platform_id: str
    tenant_id: str | None = None
    delivery_id: str
    seq: int


def handle_record(record: SQSRecord, lambda_context: Any = None) -> None:
    body = DispatchBody.model_validate_json(record.body)
    message = DispatchMessage(
        DeliveryRef(platform_id=body.platform_id, tenant_id=body.tenant_id, delivery_id=body.delivery_id), body.seq
    )
    logger.append_keys(platform_id=body.platform_id, tenant_id=body.tenant_id, delivery_id=body.delivery_id)
    if lambda_context is not None and lambda_context.get_remaining_time_in_millis() < MIN_REMAINING_MS:
        wiring.dispatch_queue().enqueue([message])
        logger.info("webhook attempt handed back: invocation almost over")
        return
    outcome = wiring.webhook_dispatcher().process(message)
    delivery = outcome.delivery
    extra: dict[str, Any] = {"result": outcome.result}
    if delivery is not None:
        extra |= {
            "endpoint_id": delivery.endpoint_id,
            "type": delivery.type.value,
            "attempt": delivery.attempts_in_round,
            "status_code": delivery.last_status_code,
            "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
        }
        if outcome.result not in ("succeeded", "stale", "early"):
            extra["error"] = delivery.last_error
    logger.info("webhook attempt", extra=extra)
    metrics.add_metric(name=f"Webhook_{outcome.result}", unit="Count", value=1)
