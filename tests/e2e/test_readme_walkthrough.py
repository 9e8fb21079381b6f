"""The README's walk-through, step by step, over HTTP against a local stack (`make run`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TENANT = "readme-tenant"


def test_connection_walkthrough(local_stack: RunningStack, api: httpx.Client) -> None:
    token = local_stack.sevdesk_token
    # 1. connect
    created = api.put(
        f"/v1/tenants/{TENANT}/connection", json={"sevdesk_token": token, "settings": {"unit_mapping": {"h": "Std"}}}
    )
    assert created.status_code == 201, created.text
    assert created.json()["token_fingerprint"] == "…" + token[-4:]
    assert token not in created.text
    # 2. read
    read = api.get(f"/v1/tenants/{TENANT}/connection")
    assert read.status_code == 200
    assert read.json()["settings"]["unit_mapping"] == {"h": "Std"}
    # 3. test
    tested = api.post(f"/v1/tenants/{TENANT}/connection/test")
    assert tested.json()["ok"] is True
    assert tested.json()["sevdesk"]["bookkeeping_system_version"] == "2.0"
    # 4. an invoice event, transferred in the background by the real worker via SQS
    event = json.loads((REPO / "events/platform-invoice-upserted.json").read_text())
    accepted = api.post(f"/v1/tenants/{TENANT}/events", json=event)
    assert accepted.status_code == 202, accepted.text
    transfer_id = accepted.json()["results"][0]["transfers"][0]["transfer_id"]
    transfer = _wait_for_transfer(api, TENANT, transfer_id)
    assert transfer["status"] == "transferred", transfer
    assert transfer["sevdesk_id"]
    # 5. ledger listing
    listed = api.get(f"/v1/tenants/{TENANT}/transfers").json()["items"]
    assert [t["transfer_id"] for t in listed] == [transfer_id]
    # 6. a bad token shape → 4xx naming the field, never echoing the value
    bad = api.put(f"/v1/tenants/{TENANT}/connection", json={"sevdesk_token": "not-a-token"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "sevdesk_token"
    assert "not-a-token" not in bad.text
    # 7. offboard
    deleted = api.delete(f"/v1/tenants/{TENANT}")
    assert deleted.status_code == 200
    assert api.get(f"/v1/tenants/{TENANT}/connection").status_code == 404


def test_second_platform_from_the_cli_gets_404(local_stack: RunningStack, api: httpx.Client) -> None:
    api.put("/v1/tenants/private-tenant/connection", json={"sevdesk_token": local_stack.sevdesk_token})
    state_file = Path(local_stack.log_path).parent / "stack.json"
    env = {
        **os.environ,
        "SEVBRIDGE_STATE_DIR": str(state_file.parent),
        "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in ("cli", "layers/sevbridge", "local")),
    }
    for name in ("PLATFORMS_TABLE", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-m", "sevbridge_cli.main", "platforms", "create", "Other Platform"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    other_key = out.stdout.strip().splitlines()[-1]
    assert other_key.startswith("sbk_")
    response = httpx.get(
        f"{local_stack.api_url}/v1/tenants/private-tenant/connection",
        headers={"Authorization": f"Bearer {other_key}"},
        timeout=10,
    )
    assert response.status_code == 404
    # The start-up banner prints the sandbox token once, on purpose (make run's contract); no log line may.
    lines_with_token = [line for line in local_stack.log_text().splitlines() if local_stack.sevdesk_token in line]
    assert len(lines_with_token) == 1 and lines_with_token[0].strip().startswith("sevDesk sandbox"), lines_with_token


def _wait_for_transfer(api: httpx.Client, tenant: str, transfer_id: str, timeout: float = 30) -> dict:  # type: ignore[type-arg]
    import time

    deadline = time.monotonic() + timeout
    while True:
        transfer = api.get(f"/v1/tenants/{tenant}/transfers/{transfer_id}").json()
        if transfer["status"] not in ("queued", "sending") or time.monotonic() > deadline:
            return transfer  # type: ignore[no-any-return]
        time.sleep(0.3)
