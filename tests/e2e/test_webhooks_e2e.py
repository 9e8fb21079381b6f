"""Issue 8's "done when", on the local stack that `make run` starts: a receiver registered with
`sevbridge webhooks listen` gets signed transfer.succeeded / transfer.failed deliveries for the README's
events, a rotated sandbox token produces exactly one connection.reconnect_required, and a delivery to a
receiver that was down is replayed from the API."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def sample(name: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO / "events" / name).read_text())
    event["id"] = f"{event['id']}-{uuid.uuid4().hex[:8]}"
    event["data"].update(changes)
    return event


class Listener:
    """`sevbridge webhooks listen --json` as a platform developer runs it, in its own process."""

    def __init__(self, stack: RunningStack, tenant: str, port: int = 0) -> None:
        state = Path(stack.log_path).parent / "stack.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in ("cli", "layers/sevbridge", "local"))}
        command = ["webhooks", "listen", "--json", "--port", str(port), "--tenant", tenant, "--state", str(state)]
        self.stderr = (state.parent / f"listener-{tenant}.log").open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sevbridge_cli.main", *command],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        first = self.next(timeout=60)
        self.url, self.endpoint_id = first["listening"], first["endpoint_id"]
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.strip().startswith("{"):
                self.lines.put(json.loads(line))

    def next(self, timeout: float = 30) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"the listener printed nothing for {timeout} s (exit {self.process.poll()})")

    def deliveries(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        return [self.next(timeout) for _ in range(count)]

    def quiet_for(self, seconds: float) -> list[dict[str, Any]]:
        time.sleep(seconds)
        extra = []
        while not self.lines.empty():
            extra.append(self.lines.get())
        return extra

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=20) == 0
        self.stderr.close()


@pytest.fixture
def tenant(local_stack: RunningStack, api: httpx.Client) -> Any:
    admin = httpx.Client(base_url=local_stack.sevdesk_sandbox_admin_url, timeout=30)
    account = admin.post("/accounts", json={"name": "Webhook GmbH"}).json()
    tenant_id = f"wh-{uuid.uuid4().hex[:8]}"
    connected = api.put(
        f"/v1/tenants/{tenant_id}/connection",
        json={"sevdesk_token": account["token"], "settings": {"unit_mapping": {"h": "Std"}}},
    )
    assert connected.status_code == 201, connected.text
    return tenant_id, account, admin


def test_signed_deliveries_one_reconnect_notice_and_replay_after_downtime(
    local_stack: RunningStack, api: httpx.Client, tenant: Any
) -> None:
    tenant_id, account, admin = tenant
    listener = Listener(local_stack, tenant_id)
    try:
        # 1. The README's invoice event, and one with a unit sevDesk does not have.
        good = sample("platform-invoice-upserted.json")
        bad = sample("platform-invoice-upserted.json", source_id="inv-palette", number="PAL-1")
        bad["data"]["positions"][0]["unit"] = "Palette"
        assert api.post(f"/v1/tenants/{tenant_id}/events", json={"events": [good, bad]}).status_code == 202
        got = {d["type"]: d for d in listener.deliveries(2)}
        assert set(got) == {"transfer.succeeded", "transfer.failed"}
        assert all(d["verified"] and d["tenant_id"] == tenant_id for d in got.values())
        assert got["transfer.succeeded"]["payload"]["data"]["source_id"] == good["data"]["source_id"]
        assert got["transfer.failed"]["payload"]["data"]["retryable"] is False

        # 2. The user is saved in sevDesk: a new token, the old one dies; three transfers hit it.
        new_token = admin.post(f"/accounts/{account['account_id']}/rotate-token").json()["token"]
        events = [sample("platform-invoice-upserted.json", source_id=f"inv-r{i}", number=f"R-{i}") for i in range(3)]
        assert api.post(f"/v1/tenants/{tenant_id}/events", json={"events": events}).status_code == 202
        (notice,) = listener.deliveries(1)
        assert notice["type"] == "connection.reconnect_required" and notice["verified"]
        assert api.post(f"/v1/tenants/{tenant_id}/connection/test").json()["ok"] is False
        assert listener.quiet_for(3) == []  # exactly one, however many hit the 401
        resumed = api.put(f"/v1/tenants/{tenant_id}/connection", json={"sevdesk_token": new_token})
        assert resumed.json()["resumed_transfers"] == 3
        after = listener.deliveries(4)
        assert sorted(d["type"] for d in after) == ["connection.restored"] + ["transfer.succeeded"] * 3

        # 3. The receiver is down when the next webhook is due...
        port = listener.port
        listener.stop()
        down = sample("platform-invoice-upserted.json", source_id="inv-down", number="D-1")
        assert api.post(f"/v1/tenants/{tenant_id}/events", json=down).status_code == 202
        pending = _wait_for(
            lambda: [
                d
                for d in api.get(
                    "/v1/webhooks/deliveries", params={"tenant_id": tenant_id, "status": "pending"}
                ).json()["items"]
                if d["attempt_count"] >= 1
            ]
        )
        (failed,) = pending
        detail = api.get(f"/v1/webhooks/deliveries/{failed['delivery_id']}").json()
        assert "network error" in detail["attempts"][0]["error"]
        # ...it comes back (same port: the listener reuses its endpoint), and the delivery is replayed.
        listener = Listener(local_stack, tenant_id, port=port)
        assert listener.endpoint_id == failed["endpoint_id"]
        replay = api.post(f"/v1/webhooks/deliveries/{failed['delivery_id']}/replay")
        assert replay.status_code == 202, replay.text
        (replayed,) = listener.deliveries(1)
        assert replayed["verified"] and replayed["webhook_id"] == failed["message_id"]
        assert replayed["payload"]["data"]["source_id"] == "inv-down"
        done = _wait_for(
            lambda: api.get(f"/v1/webhooks/deliveries/{failed['delivery_id']}").json()["status"] == "succeeded"
        )
        assert done
    finally:
        if listener.process.poll() is None:
            listener.stop()
        api.delete(f"/v1/webhooks/endpoints/{listener.endpoint_id}")


def _wait_for(probe: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)
