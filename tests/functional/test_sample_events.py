"""Every file in events/ is a valid sample for its function and drives the real handler, as an operator's
Lambda console test or `sam local invoke` would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_stack.lambda_context import LocalLambdaContext
from sevbridge.domain.events import DATA_MODEL_BY_TYPE, EventEnvelope
from tests.functional.conftest import load_function

pytestmark = pytest.mark.functional
EVENTS = Path(__file__).resolve().parents[2] / "events"


def context(name: str) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:eu-central-1:1:function:{name}",
        memory_limit_in_mb=512,
        timeout_seconds=30,
    )


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("platform-*.json")))
def test_platform_samples_are_valid_events(name: str) -> None:
    envelope = EventEnvelope.model_validate(load(name))
    DATA_MODEL_BY_TYPE[envelope.type].model_validate(envelope.data)


def test_every_sample_is_known() -> None:
    prefixes = ("platform-", "api-", "sqs-", "schedule-", "console-")
    assert all(p.name.startswith(prefixes) for p in EVENTS.glob("*.json")), "name samples <source>-<case>.json"


@pytest.mark.parametrize(
    "name",
    [
        "api-get-connection.json",
        "api-put-connection.json",
        "api-post-events.json",
        "api-post-imports.json",
        "api-post-transfers-lookup.json",
        "api-get-changes.json",
        "api-get-webhook-deliveries.json",
    ],
)
def test_api_samples_reach_the_api_handler(aws: Any, name: str) -> None:
    result = load_function("api").lambda_handler(load(name), context("api"))
    # The samples carry a placeholder platform key: the handler answers, and refuses it cleanly.
    assert result["statusCode"] == 401
    assert json.loads(result["body"])["error"]["code"] == "unauthenticated"


def test_sqs_sample_reaches_the_transfer_worker(aws: Any) -> None:
    result = load_function("transfer_worker").lambda_handler(load("sqs-transfer-batch.json"), context("tw"))
    assert result == {"batchItemFailures": []}  # an unknown transfer is acknowledged, not retried forever


def test_sqs_sample_reaches_the_webhook_dispatcher(aws: Any) -> None:
    result = load_function("webhook_dispatcher").lambda_handler(load("sqs-webhook-delivery.json"), context("wd"))
    assert result == {"batchItemFailures": []}  # an unknown delivery (offboarded tenant) is acknowledged


def test_sqs_sample_reaches_the_import_worker(aws: Any) -> None:
    result = load_function("import_worker").lambda_handler(load("sqs-import-batch.json"), context("iw"))
    assert result == {"batchItemFailures": []}  # an unknown tenant's import is dropped, not retried forever


def test_schedule_sample_reaches_the_import_scheduler(aws: Any) -> None:
    result = load_function("import_scheduler").lambda_handler(load("schedule-import-tick.json"), context("is"))
    assert result == {"tenants": 0, "requeued": 0, "scheduled": 0}


def test_sqs_sample_reaches_the_backfill_function(aws: Any) -> None:
    result = load_function("backfill").lambda_handler(load("sqs-backfill-chunk.json"), context("bf"))
    assert result == {"batchItemFailures": []}  # a chunk of an unknown backfill is dropped, not retried forever
