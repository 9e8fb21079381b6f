"""import_scheduler function: runs on the EventBridge schedule (rate(15 minutes))."""

from __future__ import annotations

# First: the collector pauses while the function's modules load (sevbridge/common/cold_start.py).
from sevbridge.common import cold_start  # isort: split

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sevbridge.common.observability import logger, metrics, tracer
from sevbridge.workers.schedule import tick


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return tick(context)


cold_start.done()
