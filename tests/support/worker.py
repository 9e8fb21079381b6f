"""Feeds queued SQS messages to the real worker handlers, like Lambda's event source mapping (and the
local stack's pollers, which this reuses): partial batch failures stay queued, the rest is deleted."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from local_stack.pollers import SqsPoller
from local_stack.provision import ProvisionedStack, SqsSource
from local_stack.runtime import FunctionRuntime

_runtimes: dict[str, FunctionRuntime] = {}


def source_for(stack: ProvisionedStack, queue_logical_id: str) -> SqsSource:
    return next(s for s in stack.sqs_sources if s.queue.logical_id == queue_logical_id)


def make_retries_immediate(stack: ProvisionedStack, queue_logical_id: str = "TransferQueue") -> None:
    """A failed message becomes visible again at once (on AWS: after the queue's visibility timeout)."""
    boto3.client("sqs").set_queue_attributes(
        QueueUrl=source_for(stack, queue_logical_id).queue.url, Attributes={"VisibilityTimeout": "0"}
    )


class _ShortPolls:
    """An SQS client whose receives answer at once. The local stack's pollers long-poll (1 s) because
    they run forever; `drain` ends on an empty answer, so a long poll there would only wait out its
    second, on every drain. What is held back (visibility timeouts) is held back all the same: tests
    that wait for a message to come back loop until it has (or use `drain_until_empty`, which
    long-polls, as it only receives while the queue still holds something)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def receive_message(self, **request: Any) -> Any:
        return self._client.receive_message(**{**request, "WaitTimeSeconds": 0})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _poller(stack: ProvisionedStack, queue_logical_id: str, *, long_polls: bool = False) -> SqsPoller:
    source = source_for(stack, queue_logical_id)
    function = stack.functions[source.function]
    runtime = _runtimes.setdefault(function.logical_id, FunctionRuntime(function))
    client: Any = boto3.client("sqs") if long_polls else _ShortPolls(boto3.client("sqs"))
    return SqsPoller(source, runtime, region=stack.region, stop=threading.Event(), client=client)


def drain(stack: ProvisionedStack, queue_logical_id: str = "TransferQueue", max_batches: int = 100) -> int:
    """Processes batches until a receive answers empty (a short poll: nothing held back is waited for);
    returns how many messages were received."""
    poller = _poller(stack, queue_logical_id)
    received = 0
    for _ in range(max_batches):
        got = poller.poll_once()
        if got == 0:
            return received
        received += got
    raise AssertionError(f"{queue_logical_id} did not drain in {max_batches} batches")


def process_batches(stack: ProvisionedStack, batches: int, queue_logical_id: str = "TransferQueue") -> int:
    """Processes at most this many batches (the queue may still hold more); returns the messages received."""
    poller = _poller(stack, queue_logical_id, long_polls=True)
    return sum(poller.poll_once() for _ in range(batches))


def drain_until_empty(stack: ProvisionedStack, queue_logical_id: str, max_batches: int = 500) -> int:
    """Like `drain`, but stops as soon as the queue holds nothing (no final long poll). Only for queues
    whose retries are immediate (make_retries_immediate): there, empty means done."""
    poller = _poller(stack, queue_logical_id, long_polls=True)
    received = 0
    for _ in range(max_batches):
        if queue_depth(stack, queue_logical_id) == 0:
            return received
        received += poller.poll_once()
    raise AssertionError(f"{queue_logical_id} did not empty in {max_batches} batches")


def queue_depth(stack: ProvisionedStack, queue_logical_id: str) -> int:
    queue = next(q for q in stack.queues.values() if q.logical_id == queue_logical_id)
    attrs: dict[str, Any] = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
