"""The console events in events/ (console-backfill-*.json) run the real backfill function the way an
operator's Lambda console test does: push, pull, status, cancel, resume, retry-failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_stack.lambda_context import LocalLambdaContext
from tests.functional.backfills.conftest import TENANT, invoice_line, ndjson
from tests.functional.conftest import load_function
from tests.support.worker import drain_until_empty

pytestmark = pytest.mark.functional
EVENTS = Path(__file__).resolve().parents[3] / "events"


def _invoke(name: str, **overrides: Any) -> dict[str, Any]:
    event = json.loads((EVENTS / name).read_text(encoding="utf-8")) | overrides
    context = LocalLambdaContext(
        function_name="backfill",
        invoked_function_arn="arn:aws:lambda:eu-central-1:1:function:backfill",
        memory_limit_in_mb=512,
        timeout_seconds=300,
    )
    answer: dict[str, Any] = load_function("backfill").lambda_handler(event, context)
    return answer


def test_every_console_event_runs_its_job(aws: Any, connected: Any, platform: Any, sandbox_state: Any) -> None:
    pid = platform[0].platform_id
    push_event = json.loads((EVENTS / "console-backfill-push.json").read_text())
    # The operator uploaded the history to the backfill bucket first (runbook: aws s3 cp …).
    lines = [invoice_line(n, day="2024-05-01") for n in range(1, 8)] + [invoice_line(8, status="draft")]
    boto3.client("s3").put_object(
        Bucket=aws.environment()["BACKFILL_BUCKET"], Key=push_event["object_key"], Body=ndjson(lines)
    )

    pushed = _invoke("console-backfill-push.json", platform_id=pid, tenant_id=TENANT)
    assert pushed["state"] == "running", pushed
    bf = pushed["backfill_id"]
    drain_until_empty(aws, "BackfillQueue")
    status = _invoke("console-backfill-status.json", platform_id=pid, tenant_id=TENANT, backfill_id=bf)
    assert status["state"] == "completed"
    assert status["counters"] == {"done": 7, "failed": 0, "skipped": 0, "invalid": 0, "filtered": 1}
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 7
    retried = _invoke("console-backfill-retry-failed.json", platform_id=pid, tenant_id=TENANT, backfill_id=bf)
    assert retried["state"] == "completed"  # nothing failed: unchanged

    pulled = _invoke("console-backfill-pull.json", platform_id=pid, tenant_id=TENANT)
    assert pulled["direction"] == "pull" and pulled["state"] == "running" and pulled["import_id"]
    cancelled = _invoke(
        "console-backfill-cancel.json", platform_id=pid, tenant_id=TENANT, backfill_id=pulled["backfill_id"]
    )
    assert cancelled["state"] == "cancelled"
    resumed = _invoke(
        "console-backfill-resume.json", platform_id=pid, tenant_id=TENANT, backfill_id=pulled["backfill_id"]
    )
    assert resumed["state"] == "running"


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("console-backfill-*.json")))
def test_an_unedited_console_event_gets_a_clear_error(aws: Any, name: str) -> None:
    answer = _invoke(name)
    assert answer["error"]["code"] == "not_found", answer  # the sample's platform and tenant do not exist here


def test_a_malformed_console_event_names_the_field(aws: Any) -> None:
    answer = _invoke("console-backfill-status.json", action="stop")
    assert answer["error"]["code"] == "invalid_input"
    assert answer["error"]["details"][0]["field"] == "action"
