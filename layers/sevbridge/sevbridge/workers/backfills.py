"""Backfill function: SQS records of the backfill queue (split / chunk / follow messages), and direct
invocations from an operator (Lambda console test events in events/, `{"action": …}`).

A message that must wait (a sevDesk pause or retry delay, a tenant waiting for a new token, a pull
backfill whose import still runs) is held back for that long with ChangeMessageVisibility and reported
failed; the tenant's FIFO group waits with it, so its backfill stays one serial stream.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from sevbridge import wiring
from sevbridge.adapters.sqs_visibility import SqsVisibility
from sevbridge.api.schemas_backfills import BackfillView, FiltersBody
from sevbridge.common.model import Model
from sevbridge.common.observability import logger, metrics
from sevbridge.config import get_settings
from sevbridge.domain.backfill.jobs import Direction, PushKind
from sevbridge.domain.backfill.ports import BackfillMessage
from sevbridge.domain.backfill.worker import HoldBack
from sevbridge.domain.errors import DomainError
from sevbridge.domain.pull.records import ImportKind
from sevbridge.workers import transfers

RESERVE_SECONDS = 5.0
_MESSAGE: TypeAdapter[BackfillMessage] = TypeAdapter(BackfillMessage)


# --- SQS -------------------------------------------------------------------------------------------------
def process_batch(event: dict[str, Any], context: LambdaContext) -> Any:
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    held: dict[str, float] = {}

    def handle(record: SQSRecord) -> None:
        try:
            message = _MESSAGE.validate_json(record.body)
        except ValidationError:
            held[record.message_id] = 0  # not ours: straight back, to the DLQ in a few receives
            raise
        logger.append_keys(platform_id=message.platform_id, tenant_id=message.tenant_id, backfill_id=message.job_id)
        worker = wiring.backfill_worker(transfers.runner)
        receives = int(record.attributes.approximate_receive_count or 1)
        try:
            worker.process(message, time_left=lambda: deadline - time.monotonic(), receives=receives)
        except HoldBack as exc:
            held[record.message_id] = exc.delay
            metrics.add_metric(name="BackfillHeldBack", unit="Count", value=1)
            logger.info("backfill message held back", extra={"delay": exc.delay, "why": str(exc)})
            raise
        except Exception:
            held[record.message_id] = wiring.retry_schedule().delay_after(receives)
            raise
        metrics.add_metric(name=f"Backfill_{message.type}", unit="Count", value=1)

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    processor.raise_on_entire_batch_failure = False
    response = process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    receipts = [
        (record["receiptHandle"], held.get(record["messageId"], 0))
        for record in event.get("Records", [])
        if record.get("messageId") in failed
    ]
    if receipts:
        SqsVisibility(get_settings().backfill_queue_url).hold_back(receipts)
    return response


# --- console ---------------------------------------------------------------------------------------------
class ConsoleAction(Model):
    """What an operator pastes into the Lambda console (events/backfill-*.json)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["start", "status", "cancel", "resume", "retry-failed"]
    platform_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    backfill_id: str | None = Field(default=None, description="An existing backfill; start creates one without")
    direction: Direction | None = None
    kind: PushKind | None = None
    kinds: list[ImportKind] | None = None
    object_key: str | None = Field(default=None, description="push: an NDJSON object in the backfill bucket")
    filters: FiltersBody | None = None


def is_console_event(event: dict[str, Any]) -> bool:
    return "action" in event and "Records" not in event


def handle_console(event: dict[str, Any]) -> dict[str, Any]:
    """Runs one action; answers the backfill's view, or {"error": …} naming the problem."""
    try:
        action = ConsoleAction.model_validate(event)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return {"error": {"code": "invalid_input", "message": "invalid console event", "details": problems}}
    logger.append_keys(platform_id=action.platform_id, tenant_id=action.tenant_id, backfill_id=action.backfill_id)
    service = wiring.backfill_service()
    p, t = action.platform_id, action.tenant_id
    try:
        if action.action == "start" and action.backfill_id is None:
            job = service.create(
                p,
                t,
                direction=action.direction or Direction.PUSH,
                kind=action.kind,
                kinds=action.kinds or [],
                filters=action.filters.domain() if action.filters else None,
                source="upload" if action.object_key else "inline",
                object_key=action.object_key,
            )
            job = service.start(p, t, job.job_id)
        elif action.backfill_id is None:
            return {
                "error": {
                    "code": "invalid_input",
                    "message": f"{action.action} needs backfill_id",
                    "details": [{"field": "backfill_id", "problem": "required"}],
                }
            }
        else:
            operation = {
                "start": service.start,
                "status": service.get,
                "cancel": service.cancel,
                "resume": service.resume,
                "retry-failed": service.retry_failed,
            }[action.action]
            job = operation(p, t, action.backfill_id)
    except DomainError as exc:
        return {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    logger.info("console action", extra={"action": action.action, "state": job.state.value})
    return BackfillView.of(job, wiring.clock().now()).model_dump(mode="json")
