"""backfill function: backfill queue batches (partial failures) and operator console actions (events/)."""

from __future__ import annotations

# First: the collector pauses while the function's modules load (sevbridge/common/cold_start.py).
from sevbridge.common import cold_start  # isort: split

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sevbridge.common.observability import logger, metrics, tracer
from sevbridge.workers import backfills


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if backfills.is_console_event(event):
        return backfills.handle_console(event)
    return backfills.process_batch(event, context)


cold_start.done()
