"""Backfills on the local stack `make run` starts: a platform uploads a history through the presigned URL
(served by the stack's moto server) and the backfill runs on the stack's own pollers; an operator does
the same with the `sevbridge backfill` CLI against the running stack (its state file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def _line(n: int) -> dict[str, Any]:
    return {
        "occurred_at": "2024-03-02T10:00:00+00:00",
        "data": {
            "source_id": f"inv-{n}",
            "number": f"RE-{n:06d}",
            "status": "sent",
            "invoice_date": "2024-03-01",
            "customer": {"source_id": "cust-1", "company_name": "Kunde GmbH", "customer_number": "K-0001"},
            "positions": [
                {"name": "Training", "quantity": "1", "unit": "Stk", "unit_price": "40.00", "tax_rate": "19"}
            ],
        },
    }


def _history(count: int) -> bytes:
    return b"".join(json.dumps(_line(n)).encode() + b"\n" for n in range(1, count + 1))


def _tenant(local_stack: RunningStack, api: httpx.Client) -> tuple[str, str]:
    admin = httpx.Client(base_url=local_stack.sevdesk_sandbox_admin_url, timeout=30)
    account = admin.post("/accounts", json={"name": "Backfill GmbH"}).json()
    tenant = f"bf-{uuid.uuid4().hex[:8]}"
    assert api.put(f"/v1/tenants/{tenant}/connection", json={"sevdesk_token": account["token"]}).status_code == 201
    return tenant, str(account["account_id"])


def _invoices(local_stack: RunningStack, account_id: str) -> int:
    admin = httpx.Client(base_url=local_stack.sevdesk_sandbox_admin_url, timeout=30)
    return len(admin.get(f"/accounts/{account_id}/objects/Invoice").json())


def test_upload_through_the_presigned_url_and_watch_it_finish(local_stack: RunningStack, api: httpx.Client) -> None:
    tenant, account_id = _tenant(local_stack, api)
    base = f"/v1/tenants/{tenant}/backfills"
    created = api.post(base, json={"direction": "push", "kind": "invoices", "source": "upload"})
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["upload_url"].startswith(local_stack.facts["moto_url"])  # reachable like S3 would be
    uploaded = httpx.put(job["upload_url"], content=_history(60), timeout=30)
    assert uploaded.status_code == 200, uploaded.text
    assert api.post(f"{base}/{job['backfill_id']}/start").status_code == 202

    deadline = time.monotonic() + 240
    while (status := api.get(f"{base}/{job['backfill_id']}").json())["state"] != "completed":
        assert time.monotonic() < deadline, status
        time.sleep(1)
    assert status["counters"]["done"] == 60 and status["total"] == 60
    assert _invoices(local_stack, account_id) == 60


def test_the_cli_starts_and_watches_a_backfill_on_the_running_stack(
    local_stack: RunningStack, api: httpx.Client, tmp_path: Path
) -> None:
    tenant, account_id = _tenant(local_stack, api)
    history = tmp_path / "history.ndjson"
    history.write_bytes(_history(15))
    state = str(Path(local_stack.log_path).parent / "stack.json")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TABLE")}  # the state file decides
    cli = [sys.executable, "-m", "sevbridge_cli.main", "backfill"]
    who = ["-p", str(local_stack.facts["platform_id"]), "-t", tenant, "--state", state]

    started = subprocess.run(
        [*cli, "start", *who, "--file", str(history)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert started.returncode == 0, started.stderr
    backfill_id = started.stdout.strip().splitlines()[-1]
    watched = subprocess.run(
        [*cli, "watch", *who, backfill_id, "--interval", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "completed" in watched.stdout
    assert _invoices(local_stack, account_id) == 15
