"""Transfer worker throughput and Lambda cost per invoice (issue 10 §3).

`measure_throughput()` posts sent invoices of known customers for one tenant and for several tenants
through the real api handler, then drains the transfer queue with the real transfer worker (the local
stack's SQS poller: FIFO batches of up to 10, message group = tenant), against moto and the sevDesk
sandbox answering every request after `latency` seconds (100 ms ≈ sevDesk from AWS Frankfurt; 0 ms
shows what our own code and moto cost). It reports invoices per second and GB-seconds per invoice
(worker wall time × MemorySize, the way Lambda bills). In-process moto answers a DynamoDB call in a
few ms, about like DynamoDB itself, so the figures are of the right order; sevDesk's real latency
varies, the ratios between the runs are what counts.

    .venv/bin/python -m benchmarks.throughput
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "layers/sevbridge", ROOT / "local"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

MEMORY_MB = 512  # template.yaml TransferWorker MemorySize (Globals)
TARGET_ONE_TENANT = 3.0  # invoices/s at 100 ms per sevDesk request (issue 10)


@contextmanager
def stack() -> Iterator[tuple[Any, Any]]:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    from moto import mock_aws

    from local_stack import moto_fixes
    from local_stack.provision import provision
    from sevdesk_sandbox import SandboxState, serve

    moto_fixes.apply()
    state = SandboxState()
    server = serve(state, port=0)
    try:
        with mock_aws():
            provisioned = provision()
            os.environ.update(provisioned.environment())
            os.environ["SEVDESK_BASE_URL"] = server.url
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the functions' own setting logs every transfer
            from sevbridge import wiring
            from sevbridge.adapters.sevdesk.reference_cache import default_reference_cache

            wiring.reset()
            default_reference_cache.reset()
            yield provisioned, state
    finally:
        server.shutdown()


def _run(provisioned: Any, state: Any, *, tenants: int, invoices: int, latency: float, tag: str) -> dict[str, Any]:
    import boto3

    import functions.api.app as api_app
    from sevbridge import wiring
    from sevbridge.domain.platforms import create_platform
    from sevdesk_sandbox import Fault
    from tests.support.api_client import HandlerApiClient
    from tests.support.events import load_event
    from tests.support.worker import drain

    _, key = create_platform(wiring.platform_store(), wiring.clock(), f"tp-{tag}")
    api = HandlerApiClient(api_app.lambda_handler, api_key=key)
    template = load_event("platform-invoice-upserted.json")
    accounts = []
    for t in range(tenants):
        account = state.create_account(name=f"Throughput {tag} {t} GmbH")
        accounts.append(account)
        body = {"sevdesk_token": account.token, "settings": {"unit_mapping": {"h": "Std"}}}
        assert api.put(f"/v1/tenants/{tag}-{t}/connection", json_body=body).status == 201

    def post(t: int, i: int) -> None:
        event: dict[str, Any] = json.loads(json.dumps(template))
        event["id"], event["data"]["source_id"], event["data"]["number"] = (
            f"{tag}-{t}-e{i}",
            f"{tag}-{t}-i{i}",
            f"{tag}-{t}-{i}",
        )
        assert api.post(f"/v1/tenants/{tag}-{t}/events", json_body=event).status == 202

    boto3.client("sqs").set_queue_attributes(
        QueueUrl=os.environ["TRANSFER_QUEUE_URL"], Attributes={"VisibilityTimeout": "0"}
    )
    for t in range(tenants):  # each tenant's customer and reference data are known (warm worker)
        post(t, 0)
    drain(provisioned, max_batches=100)
    for i in range(1, invoices + 1):  # interleaved, as many tenants' events arrive
        for t in range(tenants):
            post(t, i)
    requests_before = sum(len(state.requests(a.account_id)) for a in accounts)
    if latency:
        state.add_fault(Fault(kind="latency", delay_seconds=latency, times=None))
    try:
        started = time.perf_counter()
        drained = drain(provisioned, max_batches=10_000)
        seconds = time.perf_counter() - started
    finally:
        state.clear_faults()
    done = sum(len(state.objects(a.account_id, "Invoice")) for a in accounts) - tenants
    assert done == tenants * invoices == drained, (done, drained)
    requests = sum(len(state.requests(a.account_id)) for a in accounts) - requests_before
    per_invoice_s = seconds / done
    return {
        "tenants": tenants,
        "invoices": done,
        "latency_ms": round(latency * 1000),
        "seconds": round(seconds, 2),
        "invoices_per_s": round(done / seconds, 2),
        "sevdesk_requests_per_invoice": round(requests / done, 2),
        "worker_seconds_per_invoice": round(per_invoice_s, 3),
        "gb_seconds_per_invoice": round(per_invoice_s * MEMORY_MB / 1024, 4),
    }


def measure_throughput(invoices: int = 30) -> dict[str, Any]:
    """Invoices/s and GB-s per invoice: one tenant and four tenants, at 0 and 100 ms per request."""
    with stack() as (provisioned, state):
        runs = {
            "one_tenant_0ms": _run(provisioned, state, tenants=1, invoices=invoices, latency=0.0, tag="a"),
            "one_tenant_100ms": _run(provisioned, state, tenants=1, invoices=invoices, latency=0.1, tag="b"),
            "four_tenants_100ms": _run(provisioned, state, tenants=4, invoices=invoices // 2, latency=0.1, tag="c"),
        }
    one = runs["one_tenant_100ms"]["invoices_per_s"]
    return {
        "memory_mb": MEMORY_MB,
        "runs": runs,
        "target_one_tenant_100ms": TARGET_ONE_TENANT,
        "target_met": one >= TARGET_ONE_TENANT,
    }


if __name__ == "__main__":
    print(json.dumps(measure_throughput(), indent=2))
