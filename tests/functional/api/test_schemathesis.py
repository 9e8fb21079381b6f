"""Schemathesis against the real api handler: every operation, every check, stateful links followed.

The handler is served by the local stack's gateway inside the test process (tests/support/live_api.py)
on moto and the sevDesk sandbox; schemathesis runs as its own process against that URL, exactly as a
platform developer would run it against `make run`. The run is reproducible (fixed seed, deterministic
generation). `make test` runs a short version; `make fuzz` a long one (SEVBRIDGE_FUZZ_EXAMPLES,
SEVBRIDGE_FUZZ_SECONDS), with the same checks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sevbridge.api.schemas import EXAMPLE_TOKEN
from sevbridge.api.schemas_transfers import EVENT_EXAMPLE
from tests.support.api_client import HandlerApiClient
from tests.support.live_api import serve_api

pytestmark = pytest.mark.functional

EXAMPLES = int(os.environ.get("SEVBRIDGE_FUZZ_EXAMPLES", "12"))
SECONDS = os.environ.get("SEVBRIDGE_FUZZ_SECONDS")
SEED = os.environ.get("SEVBRIDGE_FUZZ_SEED", "20261201")


@pytest.fixture
def example_account(sandbox_state: Any) -> Any:
    """The sandbox account whose token is the document's example, so example requests succeed."""
    for account in sandbox_state.accounts():
        if account.token == EXAMPLE_TOKEN:
            return account
    return sandbox_state.create_account(name="Example GmbH", token=EXAMPLE_TOKEN)


CONFIG = Path(__file__).with_name("schemathesis.toml")
# Operations whose success answers the short run must reach, or it proves little.
MUST_SUCCEED = {
    "PUT /v1/tenants/{tenant_id}/connection",
    "GET /v1/tenants/{tenant_id}/connection",
    "POST /v1/tenants/{tenant_id}/connection/test",
    "POST /v1/tenants/{tenant_id}/events",
    "GET /v1/tenants/{tenant_id}/transfers",
    "DELETE /v1/tenants/{tenant_id}",
    "POST /v1/tenants/{tenant_id}/transfers/retry",
    "POST /v1/tenants/{tenant_id}/imports",
    "GET /v1/tenants/{tenant_id}/imports",
    "GET /v1/tenants/{tenant_id}/changes",
    "GET /v1/webhooks/endpoints",
    "GET /v1/webhooks/deliveries",
}


def run_schemathesis(url: str, api_key: str, report: Path) -> subprocess.CompletedProcess[str]:
    """Runs in the report's folder: schemathesis keeps a cache in its working directory."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        f"--config-file={CONFIG}",
        "run",
        f"{url}/v1/openapi.json",
        "--checks=all",
        f"--header=Authorization: Bearer {api_key}",
        "--workers=1",
        f"--max-examples={EXAMPLES}",
        "--no-color",
        "--report=ndjson",
        f"--report-ndjson-path={report}",
    ]
    # Deterministic unless a long run asks for a seed: then every run explores differently, reproducibly.
    command += [f"--seed={SEED}"] if SECONDS else ["--generation-deterministic"]
    if SECONDS:
        command.append(f"--max-time={SECONDS}")
    return subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False, cwd=report.parent)


def read_report(path: Path) -> tuple[list[str], Counter[tuple[str, int]]]:
    """(failed checks as "check: operation", responses by (operation, status)) from the NDJSON report."""
    failures: list[str] = []
    answers: Counter[tuple[str, int]] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        recorder = event.get("ScenarioFinished", {}).get("recorder")
        if not recorder:
            continue
        for checks in (recorder.get("checks") or {}).values():
            failures += [f"{c['name']}: {recorder['label']}" for c in checks if c["status"] == "failure"]
        for interaction in (recorder.get("interactions") or {}).values():
            response = interaction.get("response")
            if response:
                label = _label(interaction["request"])
                answers[(label, response["status_code"])] += 1
    return failures, answers


def _label(request: dict[str, Any]) -> str:
    path = re.sub(r"^https?://[^/]+", "", request["uri"]).split("?")[0]
    for template in TEMPLATES:
        if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path):
            return f"{request['method']} {template}"
    return f"{request['method']} {path}"


# Every path of the document, the most specific first (`…/transfers/retry` before `…/transfers/{transfer_id}`).
TEMPLATES = sorted(
    json.loads((Path(__file__).resolve().parents[3] / "docs" / "openapi.json").read_text(encoding="utf-8"))["paths"],
    key=lambda t: -sum(1 for s in t.split("/") if s and not s.startswith("{")),
)


@pytest.fixture
def example_tenant(api: HandlerApiClient, example_account: Any) -> None:
    """The tenants of the document's examples, connected and with a transfer, so reads find something."""
    for tenant in ("school-42", "school-43"):
        assert api.put(f"/v1/tenants/{tenant}/connection", json_body={"sevdesk_token": EXAMPLE_TOKEN}).status == 201
    assert api.post("/v1/tenants/school-42/events", json_body=EVENT_EXAMPLE).status == 202


@pytest.mark.timeout(int(SECONDS or 0) + 300)
def test_schemathesis_finds_no_server_error_and_no_nonconforming_answer(
    aws: Any, platform: tuple[Any, str], example_tenant: None, tmp_path: Path
) -> None:
    report = tmp_path / "schemathesis.ndjson"
    started = time.monotonic()
    with serve_api(aws) as url:
        result = run_schemathesis(url, platform[1], report)
    elapsed = time.monotonic() - started
    failures, answers = read_report(report)
    summary = result.stdout[result.stdout.find("=== SUMMARY") :]
    print(f"schemathesis: {sum(answers.values())} responses in {elapsed:.1f} s\n{summary}")

    assert not failures, "\n".join(sorted(set(failures))) + "\n" + result.stdout[-8000:]
    assert result.returncode == 0, result.stdout[-8000:]
    assert not [key for key in answers if key[1] >= 500], answers
    succeeded = {label for (label, status) in answers if 200 <= status < 300}
    assert succeeded >= MUST_SUCCEED, (MUST_SUCCEED - succeeded, answers)
    assert sum(answers.values()) >= 200  # the run exercised the API, not just loaded the document
