"""Counts every AWS call made while a block runs, with botocore's before-call/after-call hooks on each
client created meanwhile or before (boto3 sessions are created per client by sevbridge's aws_clients,
by the pollers that play Lambda's event source mapping, and by tests' helpers)."""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session


@dataclass
class AwsCalls:
    calls: Counter[str] = field(default_factory=Counter)  # "dynamodb.PutItem" -> n
    write_items: float = 0.0  # DynamoDB items written; 2 per item in a transaction (write units if ≤ 1 KB)
    read_units: float = (
        0.0  # ≈ DynamoDB read units: 1 per key read (≤ 4 KB; ½ eventually consistent), 2 in a transaction
    )
    items_read: int = 0  # DynamoDB items read: found by key, or examined by a Query/Scan (before any filter)
    sqs_fifo: int = 0
    sqs_standard: int = 0
    received_batches: int = 0  # ReceiveMessage answered with messages: one function invocation each
    kms: int = 0
    eventbridge_events: int = 0
    active: bool = True

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def by_service(self) -> dict[str, int]:
        services: Counter[str] = Counter()
        for name, n in self.calls.items():
            services[name.split(".")[0]] += n
        return dict(services)

    def before(self, service: str, operation: str, params: dict[str, Any]) -> None:
        self.calls[f"{service}.{operation}"] += 1
        if service == "dynamodb":
            if operation in ("PutItem", "UpdateItem", "DeleteItem"):
                self.write_items += 1
            elif operation == "BatchWriteItem":
                self.write_items += sum(len(v) for v in params.get("RequestItems", {}).values())
            elif operation == "TransactWriteItems":
                items = params.get("TransactItems", [])
                self.write_items += 2 * sum(1 for i in items if "ConditionCheck" not in i)
                self.read_units += 2 * sum(1 for i in items if "ConditionCheck" in i)  # billed as reads
            elif operation == "TransactGetItems":
                self.read_units += 2 * len(params.get("TransactItems", []))
            elif operation == "GetItem":
                # Billed whether the item exists or not: 1 unit per started 4 KB, half when eventually consistent.
                self.read_units += 1 if params.get("ConsistentRead") else 0.5
            elif operation == "BatchGetItem":
                self.read_units += sum(
                    len(request.get("Keys", [])) * (1 if request.get("ConsistentRead") else 0.5)
                    for request in params.get("RequestItems", {}).values()
                )
        elif service == "sqs":
            if str(params.get("QueueUrl", "")).endswith(".fifo"):
                self.sqs_fifo += 1
            else:
                self.sqs_standard += 1
        elif service == "kms":
            self.kms += 1
        elif service in ("events", "eventbridge") and operation == "PutEvents":
            self.eventbridge_events += len(params.get("Entries", []))

    def after(self, service: str, operation: str, parsed: dict[str, Any]) -> None:
        if service == "dynamodb":
            if operation == "GetItem":
                self.items_read += 1 if parsed.get("Item") else 0
            elif operation in ("Query", "Scan"):
                self.read_units += max(1, math.ceil(int(parsed.get("Count", 0)) / 4))  # ~1 KB items, 4 per unit
                self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
            elif operation == "BatchGetItem":
                self.items_read += sum(len(v) for v in parsed.get("Responses", {}).values())
        elif service == "sqs" and operation == "ReceiveMessage" and parsed.get("Messages"):
            self.received_batches += 1


def _hook(client: Any, counter: AwsCalls) -> None:
    service = client.meta.service_model.service_name

    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        if counter.active:
            counter.before(service, model.name, params)

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if counter.active:
            counter.after(service, model.name, parsed or {})

    # before-parameter-build sees the call's parameters (before-call only the serialized request).
    client.meta.events.register("before-parameter-build", before)
    client.meta.events.register("after-call", after)


@contextlib.contextmanager
def counting(existing: tuple[Any, ...] = ()) -> Iterator[AwsCalls]:
    """Counts calls of `existing` clients and of every client created inside the block."""
    counter = AwsCalls()
    for client in existing:
        _hook(client, counter)
    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        _hook(client, counter)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]
        counter.active = False
