"""`sevbridge dlq show|redrive` against moto: depth and decoded messages without secrets, and a redrive
that brings dead-lettered work back to its queue, where the real worker finishes it."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.stub import Stubber

from sevbridge_cli.dlq import DeadLetterQueue, Depth, latest_move_task, move_back
from tests.functional.cli.conftest import TENANT, all_output, run_cli
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain

SEVDESK_TOKEN = "0123456789abcdef0123456789abcdef"
PLATFORM_KEY = "sbk_" + "A" * 43


def _queue_url(aws: Any, logical_id: str) -> str:
    return str(next(q for q in aws.queues.values() if q.logical_id == logical_id).url)


def _dead_letter(aws: Any, source: str, dlq: str) -> dict[str, Any]:
    """What SQS does after maxReceiveCount: the message leaves its queue for the DLQ, as it was."""
    sqs = boto3.client("sqs")
    message = sqs.receive_message(QueueUrl=_queue_url(aws, source), MessageSystemAttributeNames=["All"])["Messages"][0]
    sqs.send_message(
        QueueUrl=_queue_url(aws, dlq),
        MessageBody=message["Body"],
        MessageGroupId=message["Attributes"]["MessageGroupId"],
        MessageDeduplicationId=message["MessageId"],
    )
    sqs.delete_message(QueueUrl=_queue_url(aws, source), ReceiptHandle=message["ReceiptHandle"])
    return dict(message)


def test_show_decodes_without_secrets_and_redrive_brings_the_transfer_back(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    accepted = api.post(f"/v1/tenants/{TENANT}/events", json_body=load_event("platform-invoice-upserted.json"))
    transfer_id = accepted.json["results"][0]["transfers"][0]["transfer_id"]
    original = _dead_letter(aws, "TransferQueue", "TransferDLQ")
    # A message that carries secrets (none of ours do; the CLI masks them anyway).
    boto3.client("sqs").send_message(
        QueueUrl=_queue_url(aws, "WebhookDLQ"),
        MessageBody=json.dumps({"delivery_id": "dl_1", "note": f"token {SEVDESK_TOKEN}", "api_key": "plain"}),
        MessageAttributes={"authorization": {"DataType": "String", "StringValue": f"Bearer {PLATFORM_KEY}"}},
    )

    shown = run_cli("dlq", "show")
    assert shown.exit_code == 0, all_output(shown)
    assert transfer_id in shown.stdout
    for secret in (SEVDESK_TOKEN, PLATFORM_KEY, "plain", connected.token):
        assert secret not in all_output(shown)
    report = {q["queue"]: q for q in json.loads(run_cli("dlq", "show", "--json").stdout)}
    assert {name: q["visible"] for name, q in report.items()} == {
        "transfers": 1,
        "imports": 0,
        "backfills": 0,
        "webhooks": 1,
    }
    assert report["transfers"]["messages"][0]["body"]["transfer_id"] == transfer_id
    webhook = report["webhooks"]["messages"][0]
    assert webhook["body"] == {"delivery_id": "dl_1", "note": "token [REDACTED]", "api_key": "[REDACTED]"}
    assert webhook["attributes"] == {"authorization": "[REDACTED]"}
    # Peeking deleted nothing and hid nothing.
    assert {q["queue"]: q["visible"] for q in json.loads(run_cli("dlq", "show", "--json").stdout)}["transfers"] == 1

    redriven = run_cli("dlq", "redrive", "transfers")
    assert redriven.exit_code == 0, all_output(redriven)
    assert "transfers: 1 message(s) moved by the CLI" in redriven.stdout
    after = {q["queue"]: q["visible"] for q in json.loads(run_cli("dlq", "show", "--json").stdout)}
    assert after["transfers"] == 0 and after["webhooks"] == 1  # only the queue named

    moved = boto3.client("sqs").receive_message(
        QueueUrl=_queue_url(aws, "TransferQueue"), MessageSystemAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"][0]
    assert moved["Body"] == original["Body"]
    assert moved["Attributes"]["MessageGroupId"] == original["Attributes"]["MessageGroupId"]
    drain(aws)
    assert api.get(f"/v1/tenants/{TENANT}/transfers/{transfer_id}").json["status"] == "transferred"


def test_redrive_needs_queue_names_and_knows_them(aws: Any) -> None:
    for args, says in [(["dlq", "redrive"], "--all"), (["dlq", "show", "payments"], "unknown queue(s) payments")]:
        result = run_cli(*args)
        assert result.exit_code == 2, all_output(result)
        assert says in result.stderr
    everything = run_cli("dlq", "redrive", "--all")
    assert everything.exit_code == 0, all_output(everything)
    assert everything.stdout.count("nothing to redrive") == 4


def test_on_aws_the_redrive_is_a_message_move_task_to_the_source_queue() -> None:
    """Against real SQS the CLI starts StartMessageMoveTask (DLQ → its source queue); botocore's Stubber
    checks the parameters against the SQS service model, as AWS would."""
    sqs = boto3.client("sqs", region_name="eu-central-1")
    dlq = DeadLetterQueue(
        "transfers",
        source_url="https://sqs.eu-central-1.amazonaws.com/123456789012/transfers.fifo",
        url="https://sqs.eu-central-1.amazonaws.com/123456789012/transfers-dlq.fifo",
    )
    source_arn = "arn:aws:sqs:eu-central-1:123456789012:transfers.fifo"
    dlq_arn = "arn:aws:sqs:eu-central-1:123456789012:transfers-dlq.fifo"
    with Stubber(sqs) as stub:
        stub.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": source_arn}},
            {"QueueUrl": dlq.source_url, "AttributeNames": ["QueueArn"]},
        )
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "task-1"},
            {"SourceArn": dlq_arn, "DestinationArn": source_arn},
        )
        moved = move_back(sqs, dlq, Depth(visible=3, in_flight=0, arn=dlq_arn), emulated=False)
        stub.assert_no_pending_responses()
        assert moved.task_handle == "task-1" and moved.mode == "message move task"
        stub.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {
                        "TaskHandle": "task-1",
                        "Status": "RUNNING",
                        "SourceArn": dlq_arn,
                        "ApproximateNumberOfMessagesMoved": 1,
                        "ApproximateNumberOfMessagesToMove": 3,
                        "StartedTimestamp": 1796176130786,
                    }
                ]
            },
            {"SourceArn": dlq_arn, "MaxResults": 1},
        )
        progress = latest_move_task(sqs, dlq_arn)
    assert progress is not None
    assert (progress["status"], progress["moved"], progress["to_move"]) == ("RUNNING", 1, 3)
