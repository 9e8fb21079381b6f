"""AWS list-price cost per 1 000 000 invoices, from figures the bench measured per invoice.

Only the unit prices are typed in (eu-central-1, USD, on-demand list prices); every quantity comes from
a measurement (benchmarks/run.py fills `PerInvoice`). Per 1M invoices a line costs
`quantity per invoice × price per 1M units`, because 1M invoices × q units × (price / 1M units) = q × price.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

REGION = "eu-central-1"
# List prices as published for eu-central-1 (DynamoDB after the November 2024 on-demand price cut); typed
# in on this date from the AWS pricing pages, not fetched (the bench runs offline). Re-check before quoting.
PRICE_DATE = "2025-11"


@dataclass(frozen=True)
class Prices:
    """USD per 1 000 000 units."""

    dynamodb_write_unit: float = 0.7625  # on-demand write request unit (≤ 1 KB; 2 per item in a transaction)
    dynamodb_read_unit: float = 0.1525  # on-demand read request unit (≤ 4 KB strongly consistent)
    lambda_gb_second: float = 13.3334  # arm64: $0.0000133334 per GB-s
    lambda_request: float = 0.20
    sqs_fifo_request: float = 0.50  # per 64 KB chunk of a request; FIFO queues
    sqs_standard_request: float = 0.40
    api_gateway_request: float = 3.70  # REST API, first 333M requests a month
    kms_request: float = 3.00  # $0.03 per 10 000 requests
    eventbridge_event: float = 1.00  # custom events put


PRICES = Prices()


@dataclass(frozen=True)
class PerInvoice:
    """What one transferred invoice costs in each billed unit (measured)."""

    dynamodb_write_units: float
    dynamodb_read_units: float
    lambda_gb_seconds: float  # api + worker duration x memory
    lambda_requests: float  # invocations (a batch of n messages or events is 1/n each)
    sqs_fifo_requests: float
    sqs_standard_requests: float
    api_gateway_requests: float
    kms_requests: float
    eventbridge_events: float


_PRICE_OF = {
    "dynamodb_write_units": "dynamodb_write_unit",
    "dynamodb_read_units": "dynamodb_read_unit",
    "lambda_gb_seconds": "lambda_gb_second",
    "lambda_requests": "lambda_request",
    "sqs_fifo_requests": "sqs_fifo_request",
    "sqs_standard_requests": "sqs_standard_request",
    "api_gateway_requests": "api_gateway_request",
    "kms_requests": "kms_request",
    "eventbridge_events": "eventbridge_event",
}

_LABEL = {
    "dynamodb_write_units": "DynamoDB write units",
    "dynamodb_read_units": "DynamoDB read units",
    "lambda_gb_seconds": "Lambda GB-s",
    "lambda_requests": "Lambda invocations",
    "sqs_fifo_requests": "SQS FIFO requests",
    "sqs_standard_requests": "SQS standard requests",
    "api_gateway_requests": "API Gateway requests",
    "kms_requests": "KMS requests",
    "eventbridge_events": "EventBridge events",
}


def formula(prices: Prices = PRICES) -> str:
    terms = " + ".join(f"{_LABEL[name]} × ${getattr(prices, price):g}" for name, price in _PRICE_OF.items())
    return f"USD per 1M invoices = Σ (units per invoice × USD per 1M units) = {terms}"


def cost_per_million(per_invoice: PerInvoice, prices: Prices = PRICES) -> dict[str, float]:
    """USD per 1M invoices, per line and in total ("total")."""
    lines = {f.name: getattr(per_invoice, f.name) * getattr(prices, _PRICE_OF[f.name]) for f in fields(PerInvoice)}
    lines["total"] = sum(lines.values())
    return lines
