"""Baseline for the api function: a minimal API Gateway handler written the way Powertools documents it
(Logger, Tracer, Metrics, a REST resolver with one route) that reads one DynamoDB item with boto3."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


@functools.cache
def table() -> Any:
    # Built on first use, as sevbridge's composition root does, so both sides compare imports only.
    return boto3.resource("dynamodb").Table(os.environ.get("TABLE_NAME", "baseline"))


@app.get("/items/<item_id>")
def get_item(item_id: str) -> dict[str, Any]:
    return dict(table().get_item(Key={"pk": item_id}).get("Item") or {})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
