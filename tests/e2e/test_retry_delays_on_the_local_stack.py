"""On the local stack (moto server), a paused transfer comes back after its own delay: the worker sets
the message's visibility with the receipt handle the poller passed on, and the poller honours it (the
queue's own visibility timeout is 18 minutes)."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.test_seed_scenarios import Tenant, sample

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
PAUSE = 4  # seconds of Retry-After: longer than SEVDESK_MAX_THROTTLE_WAIT_SECONDS (1 s), so a pause


def test_a_paused_transfer_comes_back_after_its_retry_after(local_stack: RunningStack, api: httpx.Client) -> None:
    tenant = Tenant(local_stack, api)
    fault = {
        "kind": "rate_limit",
        "retry_after": PAUSE,
        "account_id": tenant.account_id,
        "method": "POST",
        "path_pattern": "^/Invoice/Factory/saveInvoice$",
    }
    assert tenant.admin.post("/faults", json=fault).status_code == 201
    started = time.monotonic()
    [transfer] = tenant.send(sample("platform-invoice-upserted.json", source_id=f"inv-{uuid.uuid4().hex[:6]}"))

    assert len(tenant.settle(timeout=60)) == 1
    took = time.monotonic() - started

    detail: dict[str, Any] = api.get(f"/v1/tenants/{tenant.id}/transfers/{transfer['transfer_id']}").json()
    assert (detail["status"], detail["attempts"]) == ("transferred", 1), detail
    assert any((h["note"] or "").startswith(f"paused for {PAUSE}s") for h in detail["history"])
    assert PAUSE <= took < PAUSE + 30  # not the queue's 18 minutes
    [invoice] = tenant.objects("Invoice")
    assert invoice["status"] == "200"
