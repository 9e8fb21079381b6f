"""SQS: FIFO message groups delivered in order on every delivery and redelivery.

What AWS guarantees for a FIFO queue: a group's messages are received in the order they were sent,
and while any message of the group is in flight (received, neither deleted nor visible again), no
other message of the group is received. A ReceiveMessage may return several messages of one group,
in order.

moto 5.2.5 locks a group through a "pending" set that only forgets a message when a later receive
walks past it once it is visible again. Messages that come back after their visibility timeout are
skipped while a later message of the group is still pending, and the group's *later* messages are
then delivered first (a10…a15 before a5…a9). This module replaces ReceiveMessage with one that
decides from each message's own state: in flight = received and not yet visible again.

Receives, sends, deletes and visibility changes also run under one lock: two pollers can then never
take the same group at once, and a send cannot be lost to a delete that rebuilds the message list
at the same moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar

from moto.core.utils import unix_time
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes

from local_stack.moto_fixes.guard import Patch

SQS_LOCK = threading.RLock()
# How often a long poll looks again (a send wakes it at once). moto waits only for *any* visible
# message, which spins while a locked group is all there is.
POLL_SECONDS = 0.1

Result = TypeVar("Result")


def receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    queue = self.get_queue(queue_name)
    deadline = unix_time() + wait_seconds_timeout
    while True:
        with SQS_LOCK:
            result = _receive_once(self, queue_name, queue, count, visibility_timeout, message_attribute_names or [])
        remaining = deadline - unix_time()
        if result or remaining <= 0:
            return result
        # Not under SQS_LOCK: sends, deletes and other receives go on while this one waits.
        with queue._messages_lock:
            queue._messages_lock.wait(timeout=min(POLL_SECONDS, remaining))


def _receive_once(
    backend: SQSBackend,
    queue_name: str,
    queue: Queue,
    count: int,
    visibility_timeout: int,
    attribute_names: list[str],
) -> list[Message]:
    messages = list(queue._messages)  # in the order they were sent
    fifo = bool(queue.fifo_queue)
    # Decided before this receive takes anything, so one receive can return several messages of a group.
    locked = {m.group_id for m in messages if fifo and m.group_id is not None and not m.visible}
    dead_letters, redrive = queue.dead_letter_queue, queue.redrive_policy
    result: list[Message] = []
    to_dead_letters: list[Message] = []
    expired: list[Message] = []
    for message in messages:
        if len(result) >= count:
            break
        group = message.group_id if fifo else None
        if group is not None and group in locked:
            continue
        if message.delayed or not message.visible:
            if group is not None:
                locked.add(group)  # nothing of a group may overtake its first message
            continue
        queue.pending_messages.discard(message)
        if dead_letters is not None and redrive and message.approximate_receive_count >= redrive["maxReceiveCount"]:
            to_dead_letters.append(message)
            continue
        if not backend.is_message_valid_based_on_retention_period(queue_name, message):
            expired.append(message)  # SQS deletes messages older than the retention period
            continue
        queue.pending_messages.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        copied = deepcopy(message)  # filtering attributes must not change the stored message
        _filter_message_attributes(copied, attribute_names)
        result.append(copied)
    for message in to_dead_letters:
        queue._messages.remove(message)
        dead_letters.add_message(message)  # type: ignore[union-attr]  # listed only when there is a DLQ
    for message in expired:
        queue._messages.remove(message)
    return result


def _under_sqs_lock(method: Callable[..., Result]) -> Callable[..., Result]:
    def locked(*args: Any, **kwargs: Any) -> Result:
        with SQS_LOCK:
            return method(*args, **kwargs)

    return locked


PATCHES = (
    Patch(
        SQSBackend,
        "receive_message",
        "065f3e5e7d2144089ce3b5d16d9306243ccd2f3ee11b44beb851292fadb7652f",
        replace=lambda _original: receive_message,
    ),
    Patch(
        SQSBackend,
        "send_message",
        "bf161af09a9e6b860e3dd5d8f58ccc802623caa86883fab9b2ffb333f8f70330",
        replace=_under_sqs_lock,
    ),
    Patch(
        SQSBackend,
        "delete_message",
        "9eb658afdceb6bd9de79334fb31591bc0aa44bc924c0486516165418bbfff777",
        replace=_under_sqs_lock,
    ),
    Patch(
        SQSBackend,
        "change_message_visibility",
        "f0e9df5f66627114c9249020675ff5accee62a9cab5e797442538c13ac593b99",
        replace=_under_sqs_lock,
    ),
    Patch(
        SQSBackend,
        "purge_queue",
        "443ea1ae7b15230caa656fd9915e50d18868a7efc9d37c4da9a0e999c725766a",
        replace=_under_sqs_lock,
    ),
    # Relied on by receive_message: visibility, delay and receive bookkeeping of a message.
    Patch(Message, "visible", "5129b573308de62a700c40541df76673710ff2303258839ac66990eb56f27f27"),
    Patch(Message, "delayed", "e2fd48abf582683aa4630cbd95daef06deb9f6de33e002a89f8c3d8a3f334838"),
    Patch(Message, "mark_received", "98e7ec115c7fcb9f34b06f42cb88a96ee9b595870bdad0105e25c4d8df462c97"),
    Patch(Queue, "add_message", "f27c9231c1f2043382bc1435c4dfbab7b645389df642f050d9dda477f6535c35"),
    Patch(Queue, "delete_message", "fa6fd5b9bd2cafb4aaacd79da7fc656e513e1513197c2939ff002f9ebfd4be46"),
)
