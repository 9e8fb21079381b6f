"""Backfill figures for `make bench`: push backfill documents per second for 1 and 10 tenants, with the
sandbox answering at once and with 100 ms per request, next to the politeness ceiling, and the sevDesk
request rate one tenant's backfill sustains. The ceiling is the request gate's (adapters/sevdesk/gate.py),
per backfill container, which FIFO gives one chunk of a tenant at a time: sevDesk sees a serial stream (at
latency L at most 1/L requests/s) or, when the chunk's lanes put a second request on the wire, at most
SEVDESK_TENANT_REQUESTS_PER_SECOND (R) in any second; so at most max(R, 1/L) requests/s, and
max(R, 1/L) / calls per document documents/s. The transfer worker has its own gate: a tenant whose live
events arrive during its backfill sees the two streams side by side (up to twice that).

Workers: like the backfill queue's event source, up to 5 concurrent invocations (MaximumConcurrency),
batch size 1; FIFO groups keep one chunk per tenant in flight. Sizes are smaller than a production history to keep
`make bench` in minutes; set BACKFILL_BENCH_SCALE (e.g. 10) for larger runs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from benchmarks.run import Result

CONCURRENCY = 5
SCALE = float(os.environ.get("BACKFILL_BENCH_SCALE", "1"))


def _line(n: int) -> bytes:
    c = n % 20
    doc = {
        "occurred_at": "2024-03-02T10:00:00+00:00",
        "data": {
            "source_id": f"inv-{n}",
            "number": f"RE-{n:06d}",
            "status": "sent",
            "invoice_date": "2024-03-01",
            "customer": {
                "source_id": f"cust-{c}",
                "company_name": f"Kunde {c} GmbH",
                "customer_number": f"K-{c:04d}",
                "billing_address": {"street": "Musterstraße 1", "zip": "10115", "city": "Berlin", "country": "DE"},
            },
            "positions": [
                {"name": "Training", "quantity": "1", "unit": "Stk", "unit_price": "40.00", "tax_rate": "19"}
            ],
        },
    }
    return json.dumps(doc).encode() + b"\n"


class _Workers:
    """Up to CONCURRENCY threads, each one invocation of the real backfill handler per message."""

    def __init__(self, stack: Any) -> None:
        import boto3

        from local_stack.lambda_context import LocalLambdaContext

        self.queue = next(q for q in stack.queues.values() if q.logical_id == "BackfillQueue")
        self.client = boto3.client("sqs")
        self._context_type = LocalLambdaContext

    def _context(self) -> Any:
        # A fresh one per invocation: its remaining time counts from when it was made.
        return self._context_type(
            function_name="backfill",
            invoked_function_arn="arn:aws:lambda:eu-central-1:1:function:backfill",
            memory_limit_in_mb=512,
            timeout_seconds=300,
        )

    def _once(self, handler: Any) -> int:
        got = self.client.receive_message(
            QueueUrl=self.queue.url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not got:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue.arn,
                "awsRegion": "eu-central-1",
            }
            for m in got
        ]
        answer = handler({"Records": records}, self._context())
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        for m in got:
            if m["MessageId"] not in failed:
                self.client.delete_message(QueueUrl=self.queue.url, ReceiptHandle=m["ReceiptHandle"])
        return len(got)

    def run_until(self, done: Any) -> None:
        import functions.backfill.app as backfill_app

        errors: list[BaseException] = []

        def loop() -> None:
            try:
                while not done():
                    if self._once(backfill_app.lambda_handler) == 0:
                        time.sleep(0.05)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=loop) for _ in range(CONCURRENCY)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]


def _scenario(stack: Any, state: Any, *, tenants: int, docs: int, latency: float, label: str) -> list[Result]:
    import boto3

    from sevbridge import wiring
    from sevbridge.adapters.sevdesk import brake, reference_cache
    from sevbridge.config import get_settings
    from sevbridge.domain.backfill.jobs import Direction, JobState, PushKind
    from sevbridge.domain.platforms import create_platform
    from sevdesk_sandbox.faults import Fault
    from sevdesk_sandbox.request_log import busiest_second, most_on_the_wire

    brake.default_brake.reset()
    reference_cache.default_reference_cache.reset()
    platform, _ = create_platform(wiring.platform_store(), wiring.clock(), f"bench-{label}")
    service = wiring.backfill_service()
    jobs = []
    accounts = []
    for t in range(tenants):
        account = state.create_account(name=f"Bench {label} {t} GmbH")
        accounts.append(account)
        tenant = f"bench-{t}"
        wiring.connection_service().put(platform.platform_id, tenant, token=account.token, settings_patch=None)
        if latency:
            state.add_fault(Fault(kind="latency", delay_seconds=latency, times=None, account_id=account.account_id))
        job = service.create(
            platform.platform_id, tenant, direction=Direction.PUSH, kind=PushKind.INVOICES, source="upload"
        )
        boto3.client("s3").put_object(
            Bucket=os.environ["BACKFILL_BUCKET"], Key=job.objects[0], Body=b"".join(_line(n) for n in range(docs))
        )
        jobs.append(job)
    store = wiring.backfill_store()

    def finished() -> bool:
        return all(
            (j := store.get(job.platform_id, job.tenant_id, job.job_id)) is not None and j.state is JobState.COMPLETED
            for job in jobs
        )

    started = time.perf_counter()
    for job in jobs:
        service.start(job.platform_id, job.tenant_id, job.job_id)
    _Workers(stack).run_until(finished)
    elapsed = time.perf_counter() - started
    state.clear_faults()

    done = [store.get(j.platform_id, j.tenant_id, j.job_id) for j in jobs]
    transferred = sum(j.counters.done for j in done if j)
    assert transferred == tenants * docs, [j.counters for j in done if j]
    created = sum(len(state.objects(a.account_id, "Invoice")) for a in accounts)
    assert created == tenants * docs, created  # exactly once
    calls = sum(len(state.requests(a.account_id)) for a in accounts)
    per_doc = calls / transferred
    # Overlap: tenants' backfills ran in parallel if each one's span covers most of the whole run.
    spans = [((j.finished_at - j.started_at).total_seconds()) for j in done if j and j.finished_at and j.started_at]
    settings = get_settings()
    # On the wire, the tenant's request gate: a chunk's lanes can put up to `on_wire` requests there at once,
    # and while more than one is, no more than R start in any second; a serial stream is bounded by latency.
    on_wire = min(settings.backfill_chunk_lanes, settings.sevdesk_tenant_requests_in_flight)
    rate_cap = settings.sevdesk_tenant_requests_per_second
    ceiling_requests = (max(rate_cap, 1 / latency) if on_wire > 1 else 1 / latency) if latency else float("inf")
    shape = f"serial, or ≤ {rate_cap}/s with up to {on_wire} on the wire" if on_wire > 1 else "serial"
    rate = transferred / elapsed
    per_tenant_requests = calls / tenants / elapsed
    logs = [state.requests(a.account_id) for a in accounts]
    most_at_once = max(most_on_the_wire(log) for log in logs)
    busiest_overlapped = max(busiest_second(log, overlapped_only=True) for log in logs)
    results = [
        Result(
            f"push backfill, {tenants} tenant(s) × {docs} invoices, sandbox {label}: documents/s",
            rate,
            "docs/s",
            "> 1 /s" if latency else "> 3 /s",
            rate > (1 if latency else 3),
            f"{per_doc:.1f} sevDesk calls per invoice (new customers included); {CONCURRENCY} concurrent invocations",
        ),
        Result(
            f"  … sevDesk requests/s one tenant's backfill sustains ({label})",
            per_tenant_requests,
            "req/s",
            f"≤ ceiling {ceiling_requests:.0f} req/s ({shape})"
            if latency
            else f"{shape}: a serial stream bounded by sevDesk's answers",
            per_tenant_requests <= ceiling_requests and most_at_once <= on_wire and busiest_overlapped <= rate_cap,
            f"sevDesk saw at most {most_at_once} of a tenant at once, {busiest_overlapped} in its busiest second "
            f"with two on the wire (sandbox log; ≤ {rate_cap} by the gate's rule); live events during a backfill "
            "come through the transfer worker's own gate, a second such stream",
        ),
    ]
    if latency:
        ceiling = ceiling_requests / per_doc
        results.append(
            Result(
                f"  … politeness ceiling per tenant at {label} ({per_doc:.1f} calls per invoice, "
                f"max({rate_cap}, 1/{label}) req/s)",
                ceiling,
                "docs/s",
                f"{tenants} tenant(s): at most {ceiling * min(tenants, CONCURRENCY):.1f} docs/s "
                f"with {CONCURRENCY} workers",
                rate <= ceiling * min(tenants, CONCURRENCY) * 1.05,
            )
        )
    import sys

    print(f"{label} × {tenants}: {rate:.1f} docs/s, {per_doc:.1f} calls/doc", file=sys.stderr, flush=True)
    report = results  # completed below; printed at the end of the scenario
    if tenants > 1:
        overlap = min(spans) / elapsed if spans else 0.0
        results.append(
            Result(
                f"  … {tenants} tenants' backfills in parallel: shortest backfill's span / whole run",
                overlap,
                "",
                "> 0.3 (they overlap instead of running one after another)",
                overlap > 0.3,
            )
        )
    for r in report:
        print(
            f"ROW | {r.name} — {r.note} | {r.value:.2f} {r.unit} | {r.target} | {r.ok} |", file=sys.stderr, flush=True
        )
    return results


def split_large(stack: Any, state: Any) -> list[Result]:
    """B1 "100 000 invoices must work": the split streams the file in byte ranges (never whole in memory)
    and turns it into chunk messages; measured on its own (running the transfers here would take hours).
    BACKFILL_BENCH_SPLIT sets the size (default 20 000 lines; 100 000 works, it takes ~5× as long)."""
    import resource

    import boto3

    from sevbridge import wiring
    from sevbridge.domain.backfill.jobs import Direction, PushKind
    from sevbridge.domain.backfill.ports import SplitMessage
    from sevbridge.domain.platforms import create_platform
    from sevbridge.workers import transfers

    count = int(os.environ.get("BACKFILL_BENCH_SPLIT", "20000"))
    platform, _ = create_platform(wiring.platform_store(), wiring.clock(), "bench-split")
    account = state.create_account(name="Split GmbH")
    wiring.connection_service().put(platform.platform_id, "split", token=account.token, settings_patch=None)
    service = wiring.backfill_service()
    job = service.create(
        platform.platform_id, "split", direction=Direction.PUSH, kind=PushKind.INVOICES, source="upload"
    )
    body = b"".join(_line(n) for n in range(count))
    boto3.client("s3").put_object(Bucket=os.environ["BACKFILL_BUCKET"], Key=job.objects[0], Body=body)
    size_mb = len(body) / 1_000_000
    del body
    job = service.start(platform.platform_id, "split", job.job_id)
    sqs = boto3.client("sqs")
    url = os.environ["BACKFILL_QUEUE_URL"]
    # The split message the start sent is processed here, directly (timed, without the poller).
    sent = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=sent["ReceiptHandle"])
    worker = wiring.backfill_worker(transfers.runner)
    message = SplitMessage(platform_id=platform.platform_id, tenant_id="split", job_id=job.job_id, generation=0)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    worker.process(message, time_left=lambda: 300.0)
    elapsed = time.perf_counter() - started
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
    stored = wiring.backfill_store().get(platform.platform_id, "split", job.job_id)
    assert stored is not None and stored.total == count, stored
    sqs.purge_queue(QueueUrl=url)  # the chunk messages: not run here
    return [
        Result(
            f"split of an uploaded history of {count} invoices ({size_mb:.0f} MB NDJSON) into chunk messages",
            elapsed,
            "s",
            "< 240 s (one invocation; a longer split continues in a new message)",
            elapsed < 240,
            f"{stored.chunks} chunks of 50; about {count / elapsed:.0f} lines/s",
        ),
        Result(
            "  … growth of the process's peak RSS during that split",
            growth,
            "MiB",
            f"< {size_mb / 2:.0f} MiB (half the file: it is streamed in 256 KiB blocks)",
            growth < size_mb / 2,
            "moto runs in this process and holds the object itself, before the split starts",
        ),
    ]


def bench(stack: Any, state: Any) -> list[Result]:
    # The backfill queue keeps the template's visibility timeout (30 min, 6× the function's): a chunk still
    # running is never handed to a second worker.
    n = lambda base: max(1, int(base * SCALE))  # noqa: E731
    return (
        _scenario(stack, state, tenants=1, docs=n(150), latency=0.0, label="0 ms")
        + _scenario(stack, state, tenants=10, docs=n(20), latency=0.0, label="0 ms")
        + _scenario(stack, state, tenants=1, docs=n(40), latency=0.1, label="100 ms")
        + _scenario(stack, state, tenants=10, docs=n(10), latency=0.1, label="100 ms")
        + split_large(stack, state)
    )


if __name__ == "__main__":
    from benchmarks.run import with_stack

    for r in with_stack(bench):  # also printed to stderr one by one as scenarios finish
        note = f" — {r.note}" if r.note else ""
        print(f"| {r.name}{note} | {r.value:.1f} {r.unit} | {r.target} | {'yes' if r.ok else '**no**'} |")
