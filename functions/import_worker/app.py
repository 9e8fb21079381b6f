"""import_worker function: SQS FIFO batches of import steps, per-tenant order, partial batch failures."""

from __future__ import annotations

# First: the collector pauses while the function's modules load (sevbridge/common/cold_start.py).
from sevbridge.common import cold_start  # isort: split

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevbridge.common.observability import logger, metrics, tracer
from sevbridge.workers.imports import handle_record

# A failed record fails the rest of its tenant's group in the batch (order kept); other tenants go on.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)


cold_start.done()
