"""DynamoDB write units per document, end to end, for `make bench` (issue 10 §2; explained in docs/ledger.md).

`measure_write_units()` runs each scenario through the real handlers (api → ledger + FIFO → transfer
worker → sandbox) in its own moto world and prices every write with the write meter
(tests/support/write_meter.py, DynamoDB's documented rules). With a webhook endpoint, the transfer's
outcome and its notification are one transaction (docs/webhooks.md); the dispatcher's delivery is not
run, so only the writes a transfer itself causes are counted.
"""

from __future__ import annotations

import os
from typing import Any

# The same test environment as benchmarks/run.py (moto needs a region and fake credentials).
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
SCENARIOS = ("contact", "sent invoice, known customer", "paid invoice, known customer")


def _event(name: str) -> dict[str, Any]:
    from tests.support.events import load_event

    if name == "contact":
        return load_event("platform-contact-upserted.json", data__invoices=[])
    status = "paid" if name.startswith("paid") else "sent"
    n = 2 if status == "sent" else 3
    return load_event(
        "platform-invoice-upserted.json",
        id=f"evt-bench-{n}",
        data__source_id=f"inv-bench-{n}",
        data__number=f"PL-2026-{700 + n}",
        data__status=status,
    )


def _measure(scenario: str, *, webhook_endpoint: bool) -> dict[str, Any]:
    from moto import mock_aws

    from local_stack import moto_fixes
    from local_stack.provision import provision
    from sevdesk_sandbox import SandboxState, serve

    moto_fixes.apply()
    state = SandboxState()
    server = serve(state, port=0)
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in TEST_ENV.items() if k not in os.environ})
    try:
        with mock_aws():
            stack = provision()
            os.environ.update(stack.environment())
            os.environ["SEVDESK_BASE_URL"] = server.url
            os.environ["WEBHOOK_ALLOW_LOOPBACK"] = "true"
            from sevbridge import wiring

            wiring.reset()
            return _scenario(stack, state, scenario, webhook_endpoint=webhook_endpoint)
    finally:
        server.shutdown()
        os.environ.clear()
        os.environ.update(saved)


def _scenario(stack: Any, state: Any, scenario: str, *, webhook_endpoint: bool) -> dict[str, Any]:
    import functions.api.app as api_app
    from benchmarks.aws_calls import counting
    from sevbridge import wiring
    from sevbridge.adapters import aws_clients
    from sevbridge.domain.platforms import create_platform
    from tests.support.api_client import HandlerApiClient
    from tests.support.events import load_event
    from tests.support.worker import drain
    from tests.support.write_meter import metered

    _, key = create_platform(wiring.platform_store(), wiring.clock(), "bench")
    api = HandlerApiClient(api_app.lambda_handler, api_key=key)
    account = state.create_account(name="Bench GmbH")
    settings = {"unit_mapping": {"h": "Std"}}
    assert (
        api.put("/v1/tenants/bench/connection", json_body={"sevdesk_token": account.token, "settings": settings}).status
        == 201
    )
    if webhook_endpoint:
        body = {"url": "http://127.0.0.1:9/hook", "event_types": ["transfer.succeeded", "transfer.failed"]}
        assert api.post("/v1/webhooks/endpoints", json_body=body).status == 201
    # A paid invoice first: its customer becomes known and the tenant's reference data (a daily per-tenant
    # item, check accounts included) is cached, so what is measured is the per-document cost.
    warm = load_event("platform-invoice-upserted.json", id="evt-bench-warm", data__source_id="inv-bench-1")
    warm["data"]["number"] = "PL-2026-701"
    warm["data"]["status"] = "paid"
    assert api.post("/v1/tenants/bench/events", json_body=warm).status == 202
    drain(stack)
    with metered() as meter, counting((aws_clients.dynamodb(),)) as calls:
        assert api.post("/v1/tenants/bench/events", json_body=_event(scenario)).status == 202
        drain(stack)
    log = meter.log
    return {
        "wcu": log.total,
        # One event per request here: its API key and connection reads (2 RRU) are per request, so a
        # batch of 100 events (the cost row's run) pays about 2 RRU less per document.
        "rru": calls.read_units,
        "by_table": {table.rsplit("-", 1)[-1]: units for table, units in log.by_table.items()},
        "writes": log.lines,
    }


def measure_write_units() -> dict[str, dict[str, Any]]:
    """{scenario: {"without_endpoint": {...}, "with_endpoint": {...}}}, each with the total `wcu`, the
    units per table and one line per write (units, table, operation, item, size)."""
    return {
        scenario: {
            "without_endpoint": _measure(scenario, webhook_endpoint=False),
            "with_endpoint": _measure(scenario, webhook_endpoint=True),
        }
        for scenario in SCENARIOS
    }


if __name__ == "__main__":
    for scenario, variants in measure_write_units().items():
        for variant, figures in variants.items():
            print(
                f"{scenario} ({variant.replace('_', ' ')}): {figures['wcu']} WCU  {figures['by_table']}  "
                f"{figures['rru']} RRU (one event per request)"
            )
