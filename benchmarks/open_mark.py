"""DynamoDB items the 15-minute stranded-work tick reads per tenant, for `make bench` (docs/ledger.md,
"The open tail"): a tenant with N settled transfers from three days ago and one open transfer, for
several N. Measured on the real code (the tick's per-tenant visit, `TransferOps.requeue_stranded`, and
the import's pending platform versions) against moto, items counted by benchmarks/aws_calls.py.

The first visit has no mark yet and reads the whole 14-day window — what every visit read before the
mark; the next ones read the mark item and the open tail only."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.aws_calls import AwsCalls, counting

SIZES = (100, 1000)
DAY_MS = 86_400_000


def measure_tick_reads(stack: Any, state: Any, sizes: tuple[int, ...] = SIZES) -> dict[int, dict[str, int]]:
    import functions.api.app as api_app
    from sevbridge import wiring
    from sevbridge.adapters import aws_clients
    from sevbridge.adapters.dynamo_platform_side import DynamoPlatformSide
    from sevbridge.config import get_settings
    from sevbridge.domain.platforms import create_platform
    from sevbridge.workers.schedule import STRANDED_AFTER, STUCK_SENDING_AFTER
    from tests.support.api_client import HandlerApiClient
    from tests.support.events import load_event
    from tests.support.ledger_seed import settled_copies

    platform, key = create_platform(wiring.platform_store(), wiring.clock(), "open-mark bench")
    api = HandlerApiClient(api_app.lambda_handler, api_key=key)
    ledger, ops = wiring.ledger(), wiring.transfer_ops()
    results: dict[int, dict[str, int]] = {}
    for n in sizes:
        tenant = f"openmark-{n}"
        account = state.create_account(name=f"Open mark {n} GmbH")
        connection = {"sevdesk_token": account.token, "settings": {"unit_mapping": {"h": "Std"}}}
        assert api.put(f"/v1/tenants/{tenant}/connection", json_body=connection).status == 201
        # The open one: accepted just now, its message on the queue (not stranded yet).
        answer = api.post(f"/v1/tenants/{tenant}/events", json_body=load_event("platform-invoice-upserted.json"))
        assert answer.status == 202, answer.body
        (listed,) = api.get(f"/v1/tenants/{tenant}/transfers").json["items"]
        open_id = listed["transfer_id"]
        # Shown from its pointer: a live transfer's document travels in its message (no transfer item).
        template = ledger.get(platform.platform_id, tenant, open_id, shown=True)
        assert template is not None
        ledger.record_transfers(settled_copies(template, n, created_ms=time.time_ns() // 1_000_000 - 3 * DAY_MS))

        def visit(tenant: str = tenant) -> AwsCalls:
            with counting(existing=(aws_clients.dynamodb(),)) as calls:
                requeued = ops.requeue_stranded(
                    platform.platform_id, tenant, queued_for=STRANDED_AFTER, sending_for=STUCK_SENDING_AFTER
                )
            assert requeued == 0
            return calls

        first, tick = visit(), visit()
        side = DynamoPlatformSide(get_settings().ledger_table, ledger, platform.platform_id, tenant)
        with counting(existing=(aws_clients.dynamodb(),)) as pending:
            side.pending_contact_versions()
        results[n] = {
            "first_visit": first.items_read,
            "tick": tick.items_read,
            "tick_calls": tick.total,
            "tick_writes": int(tick.write_items),
            "pending_versions": pending.items_read,
        }
    return results
