"""The local stack's Lambda emulation: API Gateway events, SQS event source mapping, schedules, loading."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.apigw import match_resource, proxy_response, rest_event, route_specificity
from local_stack.options import Options, OptionsError
from local_stack.pollers import SqsPoller, sqs_event
from local_stack.provision import LocalFunction, ProvisionedStack, SqsSource, provision
from local_stack.runtime import FunctionRuntime
from local_stack.schedules import rate_seconds, scheduled_event

pytestmark = pytest.mark.functional

REGION = "eu-central-1"


# --- API Gateway ---------------------------------------------------------------------------------


def test_rest_event_has_the_proxy_format_1_0_fields() -> None:
    event = rest_event(
        "post",
        "/v1/tenants/t-1/events",
        headers=[("Authorization", "Bearer k"), ("X-Tag", "a"), ("X-Tag", "b")],
        query="dry_run=1&kind=a&kind=b",
        body=b'{"id": "e1"}',
        stage="dev",
        source_ip="10.0.0.7",
    )
    assert event["resource"] == "/v1/{proxy+}"
    assert event["path"] == "/v1/tenants/t-1/events"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"proxy": "tenants/t-1/events"}
    assert event["headers"]["Authorization"] == "Bearer k"
    assert event["headers"]["X-Tag"] == "b"
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert event["queryStringParameters"] == {"dry_run": "1", "kind": "b"}
    assert event["multiValueQueryStringParameters"]["kind"] == ["a", "b"]
    assert event["body"] == '{"id": "e1"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "dev"
    assert context["path"] == "/dev/v1/tenants/t-1/events"
    assert context["identity"]["sourceIp"] == "10.0.0.7"
    assert context["requestId"]
    assert isinstance(context["requestTimeEpoch"], int)


def test_rest_event_without_query_or_body_uses_nulls() -> None:
    event = rest_event("GET", "/v1/openapi.json")
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None


def test_binary_body_arrives_base64_encoded() -> None:
    event = rest_event("PUT", "/v1/x", body=b"\xff\x00")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_route_matching_and_precedence() -> None:
    assert match_resource("/v1/{proxy+}", "/v1/a/b") == {"proxy": "a/b"}
    assert match_resource("/v1/{proxy+}", "/v1") is None
    assert match_resource("/v1/tenants/{tenant_id}", "/v1/tenants/t1") == {"tenant_id": "t1"}
    assert match_resource("/v1/tenants/{tenant_id}", "/v1/tenants/t1/x") is None
    ordered = sorted(["/v1/{proxy+}", "/v1/tenants/{id}", "/v1/tenants/mine", "/v1/{a}/x"], key=route_specificity)
    assert ordered == ["/v1/tenants/mine", "/v1/tenants/{id}", "/v1/{a}/x", "/v1/{proxy+}"]


def test_proxy_response_merges_headers_like_api_gateway() -> None:
    response = proxy_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Set-Cookie": "ignored"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok": true}',
        }
    )
    assert response.status == 201
    assert response.headers == [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert response.body == b'{"ok": true}'
    binary = proxy_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    )
    assert binary.body == b"\x00\x01"


@pytest.mark.parametrize("result", [None, "text", {"body": "no status"}, {"statusCode": "200"}])
def test_malformed_proxy_result_is_a_502(result: Any) -> None:
    response = proxy_response(result)
    assert response.status == 502
    assert json.loads(response.body)["error"]["code"] == "internal_error"


# --- SQS event source mapping --------------------------------------------------------------------


class ScriptedRuntime:
    """Stands in for a handler: records events and answers with a scripted result."""

    name = "fake-worker"

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(event) if callable(self.answer) else self.answer


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProvisionedStack]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield provision()


def transfer_source(stack: ProvisionedStack) -> SqsSource:
    return next(source for source in stack.sqs_sources if source.queue.logical_id == "TransferQueue")


def send_transfers(stack: ProvisionedStack, count: int) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    for index in range(count):
        sqs.send_message(
            QueueUrl=stack.queues["TransferQueue"].url,
            MessageBody=json.dumps({"n": index}),
            MessageGroupId="plt_1#tenant-a",
            MessageDeduplicationId=f"d{index}",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "invoice"}},
        )


def queue_counts(stack: ProvisionedStack) -> tuple[int, int]:
    """(visible, in flight) messages of the transfer queue."""
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.queues["TransferQueue"].url, AttributeNames=["All"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def poller(stack: ProvisionedStack, runtime: ScriptedRuntime) -> SqsPoller:
    return SqsPoller(transfer_source(stack), runtime, region=REGION, stop=threading.Event())  # type: ignore[arg-type]


def test_batch_event_carries_lambda_record_fields(stack: ProvisionedStack) -> None:
    send_transfers(stack, 2)
    runtime = ScriptedRuntime({"batchItemFailures": []})
    assert poller(stack, runtime).poll_once() == 2
    (event,) = runtime.events
    first = event["Records"][0]
    assert json.loads(first["body"]) == {"n": 0}
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == stack.queues["TransferQueue"].arn
    assert first["awsRegion"] == REGION
    assert first["attributes"]["MessageGroupId"] == "plt_1#tenant-a"
    assert first["attributes"]["MessageDeduplicationId"] == "d0"
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in first["attributes"]
    assert first["messageAttributes"]["kind"]["stringValue"] == "invoice"
    assert first["messageAttributes"]["kind"]["dataType"] == "String"
    assert first["md5OfBody"]
    assert queue_counts(stack) == (0, 0)


def test_reported_failures_stay_queued_and_the_rest_is_deleted(stack: ProvisionedStack) -> None:
    send_transfers(stack, 3)
    runtime = ScriptedRuntime(
        lambda event: {"batchItemFailures": [{"itemIdentifier": event["Records"][2]["messageId"]}]}
    )
    assert poller(stack, runtime).poll_once() == 3
    assert queue_counts(stack) == (0, 1)


def test_a_raising_handler_leaves_the_whole_batch(stack: ProvisionedStack) -> None:
    send_transfers(stack, 3)
    poller(stack, ScriptedRuntime(RuntimeError("boom"))).poll_once()
    assert queue_counts(stack) == (0, 3)


def test_an_unknown_failure_identifier_fails_the_whole_batch(stack: ProvisionedStack) -> None:
    send_transfers(stack, 2)
    poller(stack, ScriptedRuntime({"batchItemFailures": [{"itemIdentifier": ""}]})).poll_once()
    assert queue_counts(stack) == (0, 2)


def test_sqs_event_base64_encodes_binary_attributes() -> None:
    message: Any = {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "Body": "b",
        "MessageAttributes": {"blob": {"DataType": "Binary", "BinaryValue": b"\x01"}},
    }
    record = sqs_event([message], queue_arn="arn", region=REGION)["Records"][0]
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AQ=="


# --- schedules and handler loading ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(15 minutes)", 900), ("rate(1 minute)", 60), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


def test_cron_is_not_a_rate() -> None:
    assert rate_seconds("cron(0 12 * * ? *)") is None


def test_scheduled_event_shape() -> None:
    event = scheduled_event("arn:aws:events:eu-central-1:1:rule/r", account_id="1", region=REGION)
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:eu-central-1:1:rule/r"]


def local_function(code_dir: Path, logical_id: str) -> LocalFunction:
    return LocalFunction(
        logical_id=logical_id,
        name=f"fn-{logical_id}",
        code_dir=code_dir,
        handler="app.lambda_handler",
        timeout=3,
        memory_size=128,
        environment={},
        arn=f"arn:aws:lambda:{REGION}:1:function:fn-{logical_id}",
    )


def test_each_app_py_loads_as_its_own_module_with_a_lambda_context(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(
            f"def lambda_handler(event, context):\n"
            f"    return {{'who': '{name}', 'fn': context.function_name,\n"
            f"            'left': context.get_remaining_time_in_millis(), 'rid': context.aws_request_id}}\n"
        )
    one = FunctionRuntime(local_function(tmp_path / "one", "One")).invoke({})
    two = FunctionRuntime(local_function(tmp_path / "two", "Two")).invoke({})
    assert (one["who"], one["fn"]) == ("one", "fn-One")
    assert (two["who"], two["fn"]) == ("two", "fn-Two")
    assert 0 < one["left"] <= 3000
    assert one["rid"] != two["rid"]


def test_a_runtime_runs_up_to_its_concurrency_at_once(tmp_path: Path) -> None:
    """Like Lambda's environments: the transfer queue's pollers run batches side by side (review: one
    poller made every tenant wait behind one tenant's Retry-After sleeps)."""
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "app.py").write_text(
        "import threading, time\n"
        "running = []\n"
        "peak = [0]\n"
        "lock = threading.Lock()\n"
        "def lambda_handler(event, context):\n"
        "    with lock:\n"
        "        running.append(1); peak[0] = max(peak[0], len(running))\n"
        "    time.sleep(0.3)\n"
        "    with lock:\n"
        "        running.pop()\n"
        "    return peak[0]\n"
    )
    for concurrency, expected in ((1, 1), (3, 3)):
        runtime = FunctionRuntime(local_function(tmp_path / "slow", f"Slow{concurrency}"), concurrency=concurrency)
        results: list[int] = []

        def call(runtime: FunctionRuntime = runtime, results: list[int] = results) -> None:
            results.append(runtime.invoke({}))

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert max(results) == expected


def test_pollers_per_event_source_are_bounded_by_the_template() -> None:
    options = Options(sqs_concurrency=3)
    assert [options.pollers_for(limit) for limit in (None, 20, 2, 1)] == [3, 3, 2, 1]
    assert Options.from_env({"SEVBRIDGE_SQS_CONCURRENCY": "4"}).sqs_concurrency == 4
    with pytest.raises(OptionsError):
        Options.from_env({"SEVBRIDGE_SQS_CONCURRENCY": "0"})
