"""Baseline for the queue and schedule functions: a minimal SQS batch handler written the way Powertools
documents it (Logger, Tracer, Metrics, BatchProcessor) that writes one DynamoDB item per record."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@functools.cache
def table() -> Any:
    # Built on first use, as sevbridge's composition root does, so both sides compare imports only.
    return boto3.resource("dynamodb").Table(os.environ.get("TABLE_NAME", "baseline"))


def record_handler(record: SQSRecord) -> None:
    table().put_item(Item={"pk": record.message_id, "body": record.body})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
