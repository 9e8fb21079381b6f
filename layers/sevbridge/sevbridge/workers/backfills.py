"""Backfill function: SQS records of the backfill queue (split / chunk / follow messages), and direct
invocations from an operator (Lambda console test events in events/, `{"action": …}`).

A message that must wait (a sevDesk pause or retry delay, a tenant waiting for a new token, a pull
backfill whose import still runs) is held back for that long with ChangeMessageVisibility and reported
failed; the tenant's FIFO group waits with it, so its backfill stays one serial stream.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

from sevbridge.common import cold_start
from sevbridge.common.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import TypeAdapter

    from sevbridge.domain.backfill.ports import BackfillMessage

RESERVE_SECONDS = 5.0


@functools.cache
def _message() -> TypeAdapter[BackfillMessage]:
    # Built with the first queue message, not on import (a TypeAdapter builds its validator at once).
    from pydantic import TypeAdapter

    from sevbridge.domain.backfill.ports import BackfillMessage

    return TypeAdapter(BackfillMessage)


# --- SQS -------------------------------------------------------------------------------------------------
def process_batch(event: dict[str, Any], context: LambdaContext) -> Any:
    # What a queue message needs loads with the first one, not on the cold start (a console event needs
    # none of it): pydantic and the config, the backfill worker with the domain it drives, and the
    # transfer worker's runner; the push engine only with the first chunk (below).
    with cold_start.first_use():
        from pydantic import ValidationError

        from sevbridge import wiring
        from sevbridge.adapters.sqs_visibility import SqsVisibility
        from sevbridge.config import get_settings
        from sevbridge.domain.backfill.worker import HoldBack
        from sevbridge.workers import transfers

    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    held: dict[str, float] = {}

    def handle(record: SQSRecord) -> None:
        try:
            message = _message().validate_json(record.body)
        except ValidationError:
            held[record.message_id] = 0  # not ours: straight back, to the DLQ in a few receives
            raise
        logger.append_keys(platform_id=message.platform_id, tenant_id=message.tenant_id, backfill_id=message.job_id)
        with cold_start.first_use():  # the first message also loads the worker's adapters (boto3 among them)
            if message.type == "chunk":
                transfers.load_push_engine()  # before the chunk's lanes (threads) send its documents
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


# --- console (operator actions) ---------------------------------------------------------------------------
def is_console_event(event: dict[str, Any]) -> bool:
    return "action" in event and "Records" not in event


def handle_console(event: dict[str, Any]) -> dict[str, Any]:
    """Runs one operator action (workers/backfill_console.py, loaded on first use)."""
    with cold_start.first_use():
        from sevbridge.workers.backfill_console import handle_console

    return handle_console(event)
