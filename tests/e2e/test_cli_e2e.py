"""The operator CLI against a running local stack, found through its stack.json as `make run` leaves it:
tenants, transfers, imports, platform keys refused by the running API at once, and a dead-letter redrive
on the local stack's moto (which has no message move tasks: the CLI moves the messages itself).

One command runs as an operator runs it, in a process of its own; the others run in this process
(typer's runner; a Python start costs seconds on a busy machine), with the environment restored after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from sevbridge_cli.environment import OUTPUT_TO_ENV
from sevbridge_cli.main import app
from tests.support.events import load_event
from tests.support.local_stack_process import REPO_ROOT

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
TENANT = "cli-e2e"
NOT_INHERITED = {*OUTPUT_TO_ENV.values(), "AWS_ENDPOINT_URL"}


@pytest.fixture
def sevbridge(local_stack: RunningStack) -> Iterator[Any]:
    """Runs `sevbridge ARGS…` against the local stack; the environment it changes is put back after."""
    saved = dict(os.environ)
    for name in NOT_INHERITED:
        os.environ.pop(name, None)
    os.environ["SEVBRIDGE_STATE_DIR"] = str(local_stack.log_path.parent)

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args))

    try:
        yield run
    finally:
        os.environ.clear()
        os.environ.update(saved)
        from sevbridge import wiring

        wiring.reset()


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def tenant(local_stack: RunningStack, api: httpx.Client) -> str:
    """A tenant with a sevDesk account of its own (invoice numbers are unique per account; the stack is shared)."""
    admin = httpx.Client(base_url=local_stack.sevdesk_sandbox_admin_url, timeout=30)
    token = admin.post("/accounts", json={"name": "CLI GmbH"}).json()["token"]
    connection = {"sevdesk_token": token, "settings": {"unit_mapping": {"h": "Std"}}}
    assert api.put(f"/v1/tenants/{TENANT}/connection", json=connection).status_code == 201
    return token


def test_an_operator_process_finds_the_local_stack(local_stack: RunningStack, tenant: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["SEVBRIDGE_STATE_DIR"] = str(local_stack.log_path.parent)
    env["PYTHONPATH"] = os.pathsep.join(str(REPO_ROOT / part) for part in ("local", "layers/sevbridge", "cli"))
    listed = subprocess.run(
        [sys.executable, "-m", "sevbridge_cli.main", "tenants", "list", "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "using local stack" in listed.stderr
    tenants = {t["tenant_id"]: t for t in json.loads(listed.stdout)}  # the demo platform's, by default
    assert tenants[TENANT]["status"] == "connected"
    assert tenant not in listed.stdout + listed.stderr


def test_transfers_and_tenants(local_stack: RunningStack, api: httpx.Client, tenant: str, sevbridge: Any) -> None:
    accepted = api.post(f"/v1/tenants/{TENANT}/events", json=load_event("platform-invoice-upserted.json"))
    transfer_id = accepted.json()["results"][0]["transfers"][0]["transfer_id"]
    deadline = time.monotonic() + 60
    while api.get(f"/v1/tenants/{TENANT}/transfers/{transfer_id}").json()["status"] != "transferred":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    listed = sevbridge("transfers", "list", TENANT)
    assert listed.exit_code == 0, listed.output
    assert transfer_id in listed.stdout and "transferred" in listed.stdout
    assert json_of(sevbridge("transfers", "show", TENANT, transfer_id, "--json"))["sevdesk_id"]
    shown = sevbridge("tenants", "show", TENANT)
    assert shown.exit_code == 0 and "connected" in shown.stdout
    assert tenant not in shown.output + listed.output


def test_an_import_run_now(tenant: str, sevbridge: Any) -> None:
    imported = json_of(sevbridge("imports", "run", TENANT, "--kind", "contacts", "--wait", "90", "--json"))
    assert imported["state"] == "succeeded", imported
    assert imported["run_id"] in sevbridge("imports", "list", TENANT).stdout


def test_a_revoked_key_is_refused_by_the_running_api_at_once(local_stack: RunningStack, sevbridge: Any) -> None:
    platform = local_stack.facts["platform_id"]
    rotated = sevbridge("platforms", "rotate-key", platform)
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.stdout.strip()
    new_id = rotated.stderr.split("new key ", 1)[1].split()[0]
    url = f"{local_stack.api_url}/v1/tenants/nobody/connection"
    assert httpx.get(url, headers={"Authorization": f"Bearer {new_key}"}, timeout=10).status_code == 404

    revoked = sevbridge("platforms", "revoke-key", platform, new_id)
    assert revoked.exit_code == 0, revoked.output
    assert httpx.get(url, headers={"Authorization": f"Bearer {new_key}"}, timeout=10).status_code == 401
    demo = {"Authorization": f"Bearer {local_stack.platform_api_key}"}  # the other key was kept
    assert httpx.get(url, headers=demo, timeout=10).status_code == 404


def test_dead_letters_are_shown_and_redriven_on_the_local_stack(local_stack: RunningStack, sevbridge: Any) -> None:
    facts = local_stack.facts
    sqs = boto3.client(
        "sqs",
        endpoint_url=facts["moto_url"],
        region_name=facts["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    source_url = facts["environment"]["WEBHOOK_QUEUE_URL"]
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    dlq_name = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[1]
    body = {"platform_id": facts["platform_id"], "tenant_id": TENANT, "delivery_id": "dl_gone", "seq": 1}
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"], MessageBody=json.dumps(body))

    shown = json_of(sevbridge("dlq", "show", "webhooks", "--json"))
    assert shown[0]["visible"] == 1 and shown[0]["messages"][0]["body"] == body
    redriven = sevbridge("dlq", "redrive", "webhooks")
    assert redriven.exit_code == 0, redriven.output
    assert "webhooks: 1 message(s) moved by the CLI" in redriven.stdout
    assert json_of(sevbridge("dlq", "show", "webhooks", "--json"))[0]["visible"] == 0
