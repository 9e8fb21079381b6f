"""SQS event source mappings: feed queued messages to the worker handlers like Lambda does.

Each SQS event in the template gets a few threads (its concurrency, see Options.pollers_for); each
long-polls the queue, builds the batch event Lambda would
send, invokes the handler and deletes what succeeded. With ReportBatchItemFailures, records listed
in `batchItemFailures` stay in the queue; if the handler raises, nothing is deleted. Either way the
queue's visibility timeout and redrive policy (moto) decide when a message comes back or goes to
the DLQ - exactly the behaviour the template configures.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

    from local_stack.provision import SqsSource
    from local_stack.runtime import FunctionRuntime

log = logging.getLogger("local_stack.sqs")

WAIT_SECONDS = 1


class SqsPoller:
    def __init__(
        self,
        source: SqsSource,
        runtime: FunctionRuntime,
        *,
        region: str,
        stop: threading.Event,
        client: SQSClient | None = None,
        index: int = 0,
    ) -> None:
        self._source = source
        self._runtime = runtime
        self._region = region
        self._stop = stop
        self._sqs = client or boto3.session.Session(region_name=region).client("sqs")
        self._thread = threading.Thread(target=self._run, name=f"sqs-{source.queue.logical_id}-{index}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("polling %s failed; retrying", self._source.queue.name)
                self._stop.wait(WAIT_SECONDS)

    def poll_once(self) -> int:
        """Receive up to one batch and process it; returns how many messages were received."""
        queue = self._source.queue
        messages = self._sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=min(self._source.batch_size, 10),
            WaitTimeSeconds=WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            self._process(messages)
        return len(messages)

    def _process(self, messages: list[MessageTypeDef]) -> None:
        queue = self._source.queue
        event = sqs_event(messages, queue_arn=queue.arn, region=self._region)
        try:
            result = self._runtime.invoke(event)
        except Exception:
            log.exception(
                "%s raised on a batch of %d from %s; all stay queued",
                self._runtime.name,
                len(messages),
                queue.name,
            )
            return
        failed = failed_message_ids(result, [m["MessageId"] for m in messages], self._source)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        log.info("%s <- %s: %d ok, %d failed", self._runtime.name, queue.name, len(done), len(messages) - len(done))


def failed_message_ids(result: Any, batch_ids: list[str], source: SqsSource) -> set[str]:
    """Lambda's reading of a batch response: which messages must stay in the queue."""
    if not source.report_batch_item_failures:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set()
    identifiers = {failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures}
    if not identifiers <= set(batch_ids):
        # An empty, null or unknown identifier makes Lambda treat the whole batch as failed.
        log.warning("%s returned an invalid batchItemFailures entry; whole batch retried", source.function)
        return set(batch_ids)
    return {identifier for identifier in identifiers if identifier is not None}


def sqs_event(messages: list[MessageTypeDef], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The batch event the SQS event source mapping sends (field names as on Lambda)."""
    return {"Records": [_record(message, queue_arn, region) for message in messages]}


def _record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    body = message.get("Body", "")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": _base64(value.get("BinaryValue")),
                "stringListValues": list(value.get("StringListValues", [])),
                "binaryListValues": [_base64(item) for item in value.get("BinaryListValues", [])],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _base64(value: bytes | None) -> str | None:
    # boto3 hands binary attributes over as bytes; Lambda events carry them base64-encoded.
    return None if value is None else base64.b64encode(value).decode("ascii")
