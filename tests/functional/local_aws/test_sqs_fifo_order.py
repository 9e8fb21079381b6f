"""SQS FIFO queues on the local stack's moto server deliver each message group in order, on every
delivery and redelivery (issue 11).

Real SQS FIFO: a group's messages are delivered in the order they were sent, and while any message of
a group is in flight (received, not deleted, visibility not yet expired), no other message of that
group is delivered. moto 5.2.5 delivered later messages of a group before earlier ones that came back
after their visibility timeout; on the local stack that processed contacts after their own invoices.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.local_aws.conftest import client, create_fifo_queue, on_both

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

pytestmark = pytest.mark.functional
SAFETY_CAP_SECONDS = 90  # ends a consumer run that can no longer finish; it normally takes a second or two


def send(sqs: SQSClient, queue: str, group: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)


def receive(sqs: SQSClient, queue: str, count: int = 10, **options: Any) -> list[Any]:
    return sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=count, WaitTimeSeconds=0, **options).get(
        "Messages", []
    )


def bodies(messages: list[Any]) -> list[str]:
    return [m["Body"] for m in messages]


def delete(sqs: SQSClient, queue: str, messages: list[Any]) -> None:
    for message in messages:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def release(sqs: SQSClient, queue: str, messages: list[Any], seconds: int = 0) -> None:
    """What the transfer worker does for a short backoff: ChangeMessageVisibility on its receipt."""
    for message in messages:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=seconds)


A = [f"a{n}" for n in range(1, 16)]


@on_both
def test_messages_that_come_back_after_their_visibility_timeout_are_delivered_first(sqs: SQSClient) -> None:
    # The repro: a1…a15 in one group, receive 10, delete a1…a4, let the visibility pass.
    queue = create_fifo_queue(sqs)
    send(sqs, queue, "tenant-a", *A)
    first = receive(sqs, queue, VisibilityTimeout=1)
    assert bodies(first) == A[:10]
    delete(sqs, queue, first[:4])
    assert receive(sqs, queue) == [], "a5…a10 are still in flight: nothing of the group may be delivered"

    time.sleep(1.3)

    assert bodies(receive(sqs, queue)) == A[4:14]


@on_both
def test_a_group_stays_locked_while_any_of_its_messages_is_in_flight(sqs: SQSClient) -> None:
    queue = create_fifo_queue(sqs)
    send(sqs, queue, "tenant-a", "a1", "a2", "a3", "a4")
    send(sqs, queue, "tenant-b", "b1")
    batch = receive(sqs, queue, count=3)
    assert bodies(batch) == ["a1", "a2", "a3"]

    release(sqs, queue, batch[:1])  # a1 is visible again, but a2 and a3 are still in flight
    assert bodies(receive(sqs, queue)) == ["b1"], "another group is not held up"
    assert receive(sqs, queue) == []

    release(sqs, queue, batch[1:])
    assert bodies(receive(sqs, queue)) == ["a1", "a2", "a3", "a4"]


def test_a_short_backoff_by_change_message_visibility_keeps_the_order(sqs: SQSClient) -> None:
    """The worker's partial batch failure with a short backoff: a1 done, a2 failed (visible again in
    1 s), a3 not attempted (skipped with its group, also released)."""
    queue = create_fifo_queue(sqs)
    send(sqs, queue, "tenant-a", "a1", "a2", "a3", "a4")
    batch = receive(sqs, queue)
    delete(sqs, queue, batch[:1])
    release(sqs, queue, batch[1:], seconds=1)
    assert receive(sqs, queue) == [], "the group is locked during the backoff"

    time.sleep(1.3)

    assert bodies(receive(sqs, queue)) == ["a2", "a3", "a4"]


@on_both
def test_a_message_redriven_to_the_dlq_lets_the_rest_of_its_group_through_in_order(sqs: SQSClient) -> None:
    dlq = create_fifo_queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = create_fifo_queue(sqs, RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "2"}}')
    send(sqs, queue, "tenant-a", "a1", "a2", "a3")
    for _ in range(2):
        poison = receive(sqs, queue, count=1)
        assert bodies(poison) == ["a1"]
        release(sqs, queue, poison)

    assert bodies(receive(sqs, queue)) == ["a2", "a3"]
    assert bodies(receive(sqs, dlq)) == ["a1"]


@pytest.mark.parametrize("seed", range(3))
def test_random_receives_deletes_and_releases_never_break_a_groups_order(sqs: SQSClient, seed: int) -> None:
    """A model of SQS FIFO checked after every step: each group's delivery is a prefix of its undeleted
    messages in send order, and a group with a message in flight delivers nothing."""
    rng = random.Random(seed)
    queue = create_fifo_queue(sqs)
    undeleted: dict[str, list[str]] = defaultdict(list)  # group -> bodies in send order
    in_flight: dict[str, Any] = {}  # body -> message as received
    sent = 0
    timeouts_left = 1

    for _ in range(60):
        step = rng.random()
        if step < 0.25 or not (in_flight or any(undeleted.values())):
            group = rng.choice("abc")
            body = f"{group}{sent:03d}"
            send(sqs, queue, group, body)
            undeleted[group].append(body)
            sent += 1
        elif step < 0.55:
            got = receive(sqs, queue, count=rng.randint(1, 10))
            by_group: dict[str, list[str]] = defaultdict(list)
            for message in got:
                by_group[message["Body"][0]].append(message["Body"])
            for group, delivered in by_group.items():
                locked = [b for b in undeleted[group] if b in in_flight]
                assert not locked, f"{delivered} delivered while {locked} of the same group are in flight"
                assert delivered == undeleted[group][: len(delivered)], (delivered, undeleted[group])
            in_flight.update({m["Body"]: m for m in got})
        elif in_flight and step < 0.8:
            chosen = rng.sample(sorted(in_flight), rng.randint(1, len(in_flight)))
            delete(sqs, queue, [in_flight.pop(body) for body in chosen])
            for body in chosen:
                undeleted[body[0]].remove(body)
        elif in_flight:
            # Released early (a short backoff) or timed out: one message, or all a group has in flight.
            group = rng.choice(sorted({body[0] for body in in_flight}))
            chosen = [body for body in sorted(in_flight) if body[0] == group]
            if rng.random() < 0.3:
                chosen = chosen[:1]
            if timeouts_left and len(chosen) > 1:
                # A real visibility timeout, once per run (moto tracks an expired message differently
                # from one released by ChangeMessageVisibility 0).
                timeouts_left -= 1
                release(sqs, queue, [in_flight.pop(body) for body in chosen], seconds=1)
                time.sleep(1.1)
            else:
                release(sqs, queue, [in_flight.pop(body) for body in chosen])


def test_concurrent_consumers_never_hold_the_same_group_at_once(endpoint: str, sqs: SQSClient) -> None:
    """Several pollers on one queue (Lambda scales them): each group is processed by one at a time,
    in order."""
    queue = create_fifo_queue(sqs)
    for n in range(20):
        for group in "abcd":
            send(sqs, queue, group, f"{group}{n:02d}")
    total = 20 * 4
    holders: dict[str, int] = {}
    processed: dict[str, list[str]] = defaultdict(list)
    acknowledged: set[str] = set()
    violations: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    # Count-driven: the consumers stop when every message was acknowledged, however slow the machine is;
    # the cap only ends a run that can no longer finish (asserted below).
    give_up_at = time.monotonic() + SAFETY_CAP_SECONDS

    def all_acknowledged() -> bool:
        with lock:
            return len(acknowledged) >= total

    def consumer(number: int) -> None:
        own = client(endpoint, "sqs")
        try:
            while not all_acknowledged() and time.monotonic() < give_up_at:
                messages = receive(own, queue, count=rng_count[number])
                if not messages:
                    time.sleep(0.01)
                    continue
                groups = {m["Body"][0] for m in messages}
                with lock:
                    for group in groups:
                        if group in holders:
                            violations.append(f"consumer {number} got {group} while consumer {holders[group]} holds it")
                        holders[group] = number
                    for message in messages:
                        processed[message["Body"][0]].append(message["Body"])
                time.sleep(0.005)
                with lock:
                    for group in groups:
                        holders.pop(group, None)
                delete(own, queue, messages)
                with lock:
                    acknowledged.update(m["Body"] for m in messages)
        except BaseException as exc:  # surfaced below; a dying consumer must not pass silently
            errors.append(exc)

    rng_count = [1, 3, 10]
    threads = [threading.Thread(target=consumer, args=(n,)) for n in range(len(rng_count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SAFETY_CAP_SECONDS + 10)

    assert not errors, errors
    assert len(acknowledged) == total, f"only {len(acknowledged)} of {total} acknowledged in {SAFETY_CAP_SECONDS} s"
    assert violations == []
    for group in "abcd":
        assert processed[group] == [f"{group}{n:02d}" for n in range(20)]
