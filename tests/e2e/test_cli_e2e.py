"""The operator CLI against a running local stack, run as an operator runs it (a separate process that
finds the stack through stack.json): tenants, transfers, imports, platform keys over real HTTP, and a
dead-letter redrive on the local stack's moto (which has no message move tasks: the CLI moves them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest

from sevbridge_cli.environment import OUTPUT_TO_ENV
from tests.support.events import load_event
from tests.support.local_stack_process import REPO_ROOT

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
TENANT = "cli-e2e"


def sevbridge(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {*OUTPUT_TO_ENV.values(), "AWS_ENDPOINT_URL"}}
    env["SEVBRIDGE_STATE_DIR"] = str(stack.log_path.parent)
    env["PYTHONPATH"] = os.pathsep.join(str(REPO_ROOT / part) for part in ("local", "layers/sevbridge", "cli"))
    return subprocess.run(
        [sys.executable, "-m", "sevbridge_cli.main", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_operator_commands_on_the_local_stack(local_stack: RunningStack, api: httpx.Client) -> None:
    token = local_stack.sevdesk_token
    assert api.put(f"/v1/tenants/{TENANT}/connection", json={"sevdesk_token": token}).status_code == 201
    accepted = api.post(f"/v1/tenants/{TENANT}/events", json=load_event("platform-invoice-upserted.json"))
    transfer_id = accepted.json()["results"][0]["transfers"][0]["transfer_id"]

    tenants = json_of(sevbridge(local_stack, "tenants", "list", "--json"))  # the demo platform by default
    assert TENANT in [t["tenant_id"] for t in tenants]
    deadline = time.monotonic() + 30
    while api.get(f"/v1/tenants/{TENANT}/transfers/{transfer_id}").json()["status"] != "transferred":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    listed = sevbridge(local_stack, "transfers", "list", TENANT)
    assert transfer_id in listed.stdout and "transferred" in listed.stdout

    imported = json_of(sevbridge(local_stack, "imports", "run", TENANT, "--kind", "contacts", "--wait", "60", "--json"))
    assert imported["state"] == "succeeded", imported

    detail = sevbridge(local_stack, "tenants", "show", TENANT)
    assert detail.returncode == 0 and "connected" in detail.stdout
    for result in (detail, listed):
        assert token not in result.stdout + result.stderr


def test_a_revoked_key_is_refused_by_the_running_api_at_once(local_stack: RunningStack) -> None:
    platform = local_stack.facts["platform_id"]
    rotated = sevbridge(local_stack, "platforms", "rotate-key", platform)
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    new_id = rotated.stderr.split("new key ", 1)[1].split()[0]
    url = f"{local_stack.api_url}/v1/tenants/nobody/connection"
    assert httpx.get(url, headers={"Authorization": f"Bearer {new_key}"}, timeout=10).status_code == 404

    revoked = sevbridge(local_stack, "platforms", "revoke-key", platform, new_id)
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(url, headers={"Authorization": f"Bearer {new_key}"}, timeout=10).status_code == 401
    demo = {"Authorization": f"Bearer {local_stack.platform_api_key}"}  # the other key was kept
    assert httpx.get(url, headers=demo, timeout=10).status_code == 404


def test_dead_letters_are_shown_and_redriven_on_the_local_stack(local_stack: RunningStack) -> None:
    facts = local_stack.facts
    sqs = boto3.client(
        "sqs",
        endpoint_url=facts["moto_url"],
        region_name=facts["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    source_url = facts["environment"]["WEBHOOK_QUEUE_URL"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    dlq_url = sqs.get_queue_url(QueueName=policy["deadLetterTargetArn"].rsplit(":", 1)[1])["QueueUrl"]
    body = {"platform_id": facts["platform_id"], "tenant_id": TENANT, "delivery_id": "dl_gone", "seq": 1}
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(body))

    shown = json_of(sevbridge(local_stack, "dlq", "show", "webhooks", "--json"))
    assert shown[0]["visible"] == 1 and shown[0]["messages"][0]["body"] == body
    redriven = sevbridge(local_stack, "dlq", "redrive", "webhooks")
    assert redriven.returncode == 0, redriven.stderr
    assert "webhooks: 1 message(s) moved by the CLI" in redriven.stdout
    assert json_of(sevbridge(local_stack, "dlq", "show", "webhooks", "--json"))[0]["visible"] == 0
