"""`sevbridge dlq show|redrive`: the stack's dead-letter queues (transfers, imports, backfills, webhooks).

`show` prints each DLQ's depth and its messages decoded — they hold ids, but anything shaped like a
secret (sevDesk token, platform key, webhook secret, or a field named like one) is masked anyway. It
peeks: messages are received and released again at once (visibility 0), nothing is deleted.

`redrive` moves a DLQ's messages back to the queue they came from with SQS's message move task
(`StartMessageMoveTask`), as the console's "Start DLQ redrive" does. moto (the local stack's AWS) has no
message move tasks, so against an emulator the CLI moves them itself: receive → send to the source queue
→ delete, message by message (FIFO: same message group; deduplication id `redrive-<message id>`, so a
move repeated after a crash is not delivered twice within SQS's 5-minute window).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.table import Table

from sevbridge_cli import environment
from sevbridge_cli.common import (
    ExitCode,
    JsonOpt,
    RegionOpt,
    StackOpt,
    StateOpt,
    connect,
    err,
    fail,
    operator_errors,
    out,
    plain,
    print_json,
    when,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

app = typer.Typer(help="Dead-letter queues: inspect and redrive", no_args_is_help=True)
QueueArg = Annotated[list[str] | None, typer.Argument(help=f"Queues: {' · '.join(environment.QUEUES)} (default: all)")]
PEEK_VISIBILITY = 30  # seconds a peeked message stays hidden if releasing it fails
MOVE_VISIBILITY = 60  # seconds a message being moved stays hidden; if the move fails it shows up again
SECRET_NAME = re.compile(r"token|secret|password|authorization|api_?key|signature", re.IGNORECASE)
MAX_TEXT = 500


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    source_url: str
    url: str

    @property
    def fifo(self) -> bool:
        return self.url.endswith(".fifo")


@dataclass(frozen=True)
class Depth:
    visible: int
    in_flight: int
    arn: str


@dataclass(frozen=True)
class Moved:
    mode: str  # "message move task" or "moved by the CLI"
    moved: int = 0
    failed: int = 0
    task_handle: str | None = None


@app.command("show")
def show(
    queues: QueueArg = None,
    messages: Annotated[int, typer.Option("--messages", min=0, max=100, help="Messages to decode per queue")] = 10,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Depth of each dead-letter queue and its messages, decoded, secrets masked."""
    names = _names(queues)
    target = connect(stack, state, region)
    from sevbridge.adapters import aws_clients

    report: list[dict[str, Any]] = []
    with operator_errors():
        client = aws_clients.sqs()
        for dlq in resolve(client, target, names):
            depth = depth_of(client, dlq)
            peeked = peek(client, dlq, messages) if depth.visible and messages else []
            report.append(
                {
                    "queue": dlq.name,
                    "dlq_url": dlq.url,
                    "source_url": dlq.source_url,
                    "visible": depth.visible,
                    "in_flight": depth.in_flight,
                    "move_task": None if target.emulated else latest_move_task(client, depth.arn),
                    "messages": [decode(m) for m in peeked],
                }
            )
    if as_json:
        print_json(report)
        return
    table = Table("queue", "dead-letter queue", "messages", "in flight", "last redrive")
    for row in report:
        count, task = row["visible"], row["move_task"]
        redrive = "—" if not task else f"{task['status']}: {task['moved']} of {task['to_move']} moved"
        table.add_row(row["queue"], row["dlq_url"].rsplit("/", 1)[-1], f"[red]{count}[/red]" if count else "0",
                      str(row["in_flight"]), plain(redrive))  # fmt: skip
    out.print(table)
    for row in report:
        if not row["messages"]:
            continue
        listing = Table("message id", "sent", "receives", "group", "body", title=f"{row['queue']} DLQ")
        for m in row["messages"]:
            listing.add_row(
                m["message_id"], when(m["sent_at"]), str(m["receive_count"]), plain(m["group"]),
                plain(json.dumps(m["body"], ensure_ascii=False)),
            )  # fmt: skip
        out.print(listing)
    if any(row["visible"] for row in report):
        err.print("redrive with `sevbridge dlq redrive QUEUE` (docs/runbooks.md says when that is safe)")


@app.command("redrive")
def redrive(
    queues: Annotated[list[str] | None, typer.Argument(help=f"Queues: {' · '.join(environment.QUEUES)}")] = None,
    all_queues: Annotated[bool, typer.Option("--all", help="Every dead-letter queue")] = False,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Move dead-lettered messages back to their source queue (SQS message move task)."""
    if bool(queues) == all_queues:
        fail(ExitCode.USAGE, f"name the queues to redrive ({', '.join(environment.QUEUES)}), or pass --all")
    names = _names(None if all_queues else queues)
    target = connect(stack, state, region)
    from sevbridge.adapters import aws_clients

    failed = 0
    with operator_errors():
        client = aws_clients.sqs()
        for dlq in resolve(client, target, names):
            depth = depth_of(client, dlq)
            if not depth.visible:
                out.print(f"{dlq.name}: nothing to redrive")
                continue
            result = move_back(client, dlq, depth, emulated=target.emulated)
            failed += result.failed
            if result.task_handle:
                out.print(
                    f"{dlq.name}: message move task started for about {depth.visible} message(s) "
                    f"(task {result.task_handle}); `sevbridge dlq show {dlq.name}` shows the depth going down"
                )
            else:
                note = f", {result.failed} could not be moved (they stay in the DLQ)" if result.failed else ""
                out.print(f"{dlq.name}: {result.moved} message(s) {result.mode}{note}")
    if failed:
        raise typer.Exit(int(ExitCode.FAILED))


def _names(queues: list[str] | None) -> list[str]:
    names = list(dict.fromkeys(queues or environment.QUEUES))
    unknown = [n for n in names if n not in environment.QUEUES]
    if unknown:
        fail(ExitCode.USAGE, f"unknown queue(s) {', '.join(unknown)}; valid: {', '.join(environment.QUEUES)}")
    return names


def resolve(client: SQSClient, target: environment.Target, names: list[str]) -> list[DeadLetterQueue]:
    """Each queue's DLQ: from the stack's outputs, else from the source queue's redrive policy."""
    found = []
    for name in names:
        variable = environment.QUEUES[name][0]
        source_url = os.environ.get(variable)
        if not source_url:
            fail(ExitCode.UNREACHABLE, f"the stack's environment lacks {variable} (the {name} queue)")
        url = target.dlq_urls.get(name)
        if url is None:
            attributes = client.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])
            policy = json.loads(attributes.get("Attributes", {}).get("RedrivePolicy", "{}"))
            arn = policy.get("deadLetterTargetArn")
            if not arn:
                fail(ExitCode.UNREACHABLE, f"the {name} queue has no dead-letter queue (no RedrivePolicy)")
            _, _, _, _, account, queue_name = arn.split(":", 5)
            url = client.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        found.append(DeadLetterQueue(name, source_url, url))
    return found


def depth_of(client: SQSClient, dlq: DeadLetterQueue) -> Depth:
    attributes = client.get_queue_attributes(
        QueueUrl=dlq.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "QueueArn"],
    )["Attributes"]
    return Depth(
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        arn=attributes["QueueArn"],
    )


def peek(client: SQSClient, dlq: DeadLetterQueue, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` messages, released again right after (nothing is deleted)."""
    seen: dict[str, dict[str, Any]] = {}
    try:
        while len(seen) < limit:
            got = client.receive_message(
                QueueUrl=dlq.url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY,
                WaitTimeSeconds=1,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in got if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update({m["MessageId"]: dict(m) for m in fresh})
    finally:
        handles = [m["ReceiptHandle"] for m in seen.values()]
        for start in range(0, len(handles), 10):
            client.change_message_visibility_batch(
                QueueUrl=dlq.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for i, h in enumerate(handles[start : start + 10])
                ],
            )
    return list(seen.values())


def decode(message: dict[str, Any]) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    try:
        body: Any = json.loads(message.get("Body", ""))
    except ValueError:
        body = message.get("Body", "")
    sent = attributes.get("SentTimestamp")
    return {
        "message_id": message["MessageId"],
        "sent_at": None if sent is None else datetime.fromtimestamp(int(sent) / 1000, tz=UTC),
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
        "group": scrub(attributes.get("MessageGroupId")),
        "body": scrub(body),
        "attributes": {
            name: scrub(value.get("StringValue"), name) for name, value in message.get("MessageAttributes", {}).items()
        },
    }


def scrub(value: Any, name: str = "") -> Any:
    """Masks secret-shaped strings and fields named like secrets; shortens long text."""
    from sevbridge.common.observability import redact

    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, name) for v in value]
    if isinstance(value, str):
        if SECRET_NAME.search(name):
            return "[REDACTED]"
        text = redact(value)
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    return value


def latest_move_task(client: SQSClient, dlq_arn: str) -> dict[str, Any] | None:
    """The DLQ's most recent message move task (a redrive's progress), where SQS has them."""
    try:
        tasks = client.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1).get("Results", [])
    except NotImplementedError:  # moto in-process
        return None
    except ClientError:  # e.g. no sqs:ListMessageMoveTasks: the depth still tells the story
        return None
    if not tasks:
        return None
    task = tasks[0]
    return {
        "status": task.get("Status"),
        "moved": task.get("ApproximateNumberOfMessagesMoved", 0),
        "to_move": task.get("ApproximateNumberOfMessagesToMove"),
        "started_at": task.get("StartedTimestamp"),
        "failure": task.get("FailureReason"),
    }


def move_back(client: SQSClient, dlq: DeadLetterQueue, depth: Depth, *, emulated: bool) -> Moved:
    if not emulated:
        source_arn = client.get_queue_attributes(QueueUrl=dlq.source_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        try:
            task = client.start_message_move_task(SourceArn=depth.arn, DestinationArn=source_arn)
            return Moved("message move task", task_handle=task["TaskHandle"])
        except NotImplementedError:  # moto in-process (tests): no message move tasks
            pass
    return move_by_hand(client, dlq)


def move_by_hand(client: SQSClient, dlq: DeadLetterQueue) -> Moved:
    """receive → send to the source queue → delete; a message whose send fails stays in the DLQ."""
    moved = failed = 0
    failed_ids: set[str] = set()
    while True:
        got = client.receive_message(
            QueueUrl=dlq.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=MOVE_VISIBILITY,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in got if m["MessageId"] not in failed_ids]
        if not fresh:
            return Moved("moved by the CLI (receive → send → delete)", moved=moved, failed=failed)
        for message in fresh:
            send: dict[str, Any] = {"QueueUrl": dlq.source_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            if dlq.fifo:
                send["MessageGroupId"] = message["Attributes"]["MessageGroupId"]
                send["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
            try:
                client.send_message(**send)
            except (ClientError, BotoCoreError):
                failed += 1
                failed_ids.add(message["MessageId"])
                continue
            client.delete_message(QueueUrl=dlq.url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
