"""Webhook figures for `make bench`: DynamoDB write units a notification adds to a transfer (cost: a
later issue counts write units per invoice), dispatcher throughput, and that the tick reads only what is
due however many deliveries wait."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.run import Result


def bench(stack: Any, state: Any) -> list[Result]:
    import boto3

    import functions.api.app as api_app
    from sevbridge import wiring
    from sevbridge.adapters import aws_clients
    from sevbridge.adapters.dynamo_outbox import delivery_item
    from sevbridge.domain.notify.deliveries import Delivery, SendResult
    from sevbridge.domain.notify.types import NotificationType
    from sevbridge.domain.platforms import create_platform
    from tests.support.api_client import HandlerApiClient
    from tests.support.events import load_event
    from tests.support.receiver import Receiver
    from tests.support.worker import drain
    from tests.support.write_meter import WriteMeter

    os.environ["WEBHOOK_ALLOW_LOOPBACK"] = "true"
    wiring.reset()
    receiver = Receiver()
    try:
        _, key = create_platform(wiring.platform_store(), wiring.clock(), "bench-webhooks")
        api = HandlerApiClient(api_app.lambda_handler, api_key=key)
        account = state.create_account(name="Webhook Bench GmbH")
        put = {"sevdesk_token": account.token, "settings": {"unit_mapping": {"h": "Std"}}}
        assert api.put("/v1/tenants/wh/connection", json_body=put).status == 201
        boto3.client("sqs").set_queue_attributes(
            QueueUrl=os.environ["TRANSFER_QUEUE_URL"], Attributes={"VisibilityTimeout": "0"}
        )
        template = load_event("platform-invoice-upserted.json")

        def send(prefix: str, count: int) -> None:
            events = []
            for i in range(count):
                event = {**template, "id": f"{prefix}-e{i}", "data": {**template["data"]}}
                event["data"]["source_id"], event["data"]["number"] = f"{prefix}-i{i}", f"{prefix}-{i}"
                events.append(event)
            assert api.post("/v1/tenants/wh/events", json_body={"events": events}).status == 202

        # The suite's write meter (tests/support/write_meter.py): every Put/Update/Delete/transaction
        # priced by DynamoDB's rules, index entries by their projection.
        meter = WriteMeter()
        meter.attach(aws_clients.dynamodb())

        def units_per_invoice(prefix: str, count: int) -> float:
            send(prefix, count)
            meter.reset()
            drain(stack, max_batches=1000)  # transfer worker: ledger writes (+ notices)
            drain(stack, "WebhookQueue", max_batches=1000)  # dispatcher: one attempt each
            return meter.reset().total / count

        without = units_per_invoice("plain", 20)
        endpoint = api.post("/v1/webhooks/endpoints", json_body={"url": receiver.url}).json
        with_one = units_per_invoice("notified", 20)
        assert len(receiver.requests) == 20, len(receiver.requests)

        # Dispatch throughput: test events through the real handler to a loopback receiver.
        receiver.requests.clear()
        for _ in range(50):
            api.post(f"/v1/webhooks/endpoints/{endpoint['endpoint_id']}/test")
        started = time.perf_counter()
        drain(stack, "WebhookQueue", max_batches=1000)
        dispatch_rate = 50 / (time.perf_counter() - started)
        assert len(receiver.requests) == 50

        # The tick with 2000 deliveries waiting hours for their next attempt reads none of them.
        now = datetime.now(UTC)
        dynamo = aws_clients.dynamodb()
        waiting = []
        for i in range(2000):
            d = Delivery.new(
                platform_id="plt_bench",
                tenant_id=f"t{i % 50}",
                endpoint_id="ep_bench",
                message_id=f"msg_{i}",
                type_=NotificationType.TRANSFER_FAILED,
                occurred_at=now,
                body="{}",
                now=now,
            )
            waiting.append(
                d.after_attempt(SendResult(latency_ms=1, status_code=503), now).model_copy(
                    update={"next_attempt_at": now + timedelta(hours=5)}
                )
            )
        table = os.environ["OUTBOX_TABLE"]
        for start in range(0, len(waiting), 25):  # written directly: the bench measures the read side
            chunk = [{"PutRequest": {"Item": delivery_item(d)}} for d in waiting[start : start + 25]]
            dynamo.batch_write_item(RequestItems={table: chunk})  # type: ignore[dict-item]
        items_read: Counter[str] = Counter()
        dynamo.meta.events.register(
            "after-call.dynamodb.Query", lambda parsed, **_: items_read.update(query=parsed.get("Count", 0))
        )
        started = time.perf_counter()
        report = wiring.webhook_sweeper().sweep()
        sweep_ms = (time.perf_counter() - started) * 1000
    finally:
        receiver.close()
        os.environ.pop("WEBHOOK_ALLOW_LOOPBACK", None)
    overhead = with_one - without
    return [
        Result(
            "DynamoDB write units per invoice in the transfer worker and dispatcher (intake not counted), no endpoint",
            without,
            "WCU",
            "unchanged by webhooks",
            True,
            "outcome (which carries the mapping row; the live claim is a read), plus the customer's and reference "
            "data's first writes spread over 20 invoices; nothing is recorded when nobody wants the event (end to "
            "end with intake: docs/ledger.md)",
        ),
        Result(
            "…with one endpoint wanting transfer.succeeded (transfer + notice + delivery)",
            with_one,
            "WCU",
            "≤ no endpoint + 10",
            overhead <= 10,
            "the outcome's transaction doubles the pointer's unit (+1); the delivery put in it (2) and its index "
            "entries; the dispatcher's attempt write and index updates",
        ),
        Result(
            "webhook deliveries per second through the dispatcher (one worker, loopback receiver)",
            dispatch_rate,
            "deliveries/s",
            "> 10 /s here",
            dispatch_rate > 10,
            "one attempt = 2 reads, sign, POST, 1 conditional write; moto answers each call in ~10–30 ms "
            "in-process; Lambda runs many workers in parallel",
        ),
        Result(
            "items the tick reads with 2000 deliveries waiting hours for their next attempt",
            float(items_read["query"]),
            "items",
            "0",
            items_read["query"] == 0 and report.woken == report.rescued == 0,
            f"sparse index keyed by due time: only due deliveries are read ({sweep_ms:.0f} ms)",
        ),
    ]
