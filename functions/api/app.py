"""api function: HTTP requests from API Gateway, resolved by the sevbridge resolver."""

from __future__ import annotations

# First: the collector pauses while the function's modules load (sevbridge/common/cold_start.py).
from sevbridge.common import cold_start  # isort: split

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevbridge.api.handler import handle
from sevbridge.common.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)


cold_start.done()
