"""Starts `python -m local_stack` once per session, exactly as `make run` does, and stops it with Ctrl-C.

The stack picks free ports itself (port 0) and reports the real URLs in stack.json, which is how
these tests find it. Its output goes to local-stack.log in the state directory; failures show the tail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
SCHEDULE_SECONDS = 2


@dataclass(frozen=True)
class RunningStack:
    facts: dict[str, Any]
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def api_url(self) -> str:
        return str(self.facts["api_url"])

    @property
    def platform_api_key(self) -> str:
        return str(self.facts["platform_api_key"])

    @property
    def sevdesk_sandbox_url(self) -> str:
        return str(self.facts["sevdesk_sandbox_url"])

    @property
    def sevdesk_sandbox_admin_url(self) -> str:
        return str(self.facts["sevdesk_sandbox_admin_url"])

    @property
    def sevdesk_token(self) -> str:
        return str(self.facts["sevdesk_token"])

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not in the local stack's log after {timeout} s\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    state_dir = tmp_path_factory.mktemp("local-stack")
    log_path = state_dir / "local-stack.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack"],
            cwd=REPO_ROOT,
            env=_stack_environment(state_dir),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    stack = RunningStack(facts={}, log_path=log_path, process=process)
    try:
        facts = _wait_until_up(process, state_dir / "stack.json", stack)
        stack = RunningStack(facts=facts, log_path=log_path, process=process)
        yield stack
    finally:
        exit_code = _interrupt(process)
    assert exit_code == 0, f"the local stack exited with {exit_code} after Ctrl-C\n{stack.log_tail()}"


@pytest.fixture(scope="session")
def api(local_stack: RunningStack) -> Iterator[httpx.Client]:
    """An HTTP client for the local API, authenticated as the demo platform."""
    headers = {"Authorization": f"Bearer {local_stack.platform_api_key}"}
    with httpx.Client(base_url=local_stack.api_url, headers=headers, timeout=30) as client:
        yield client


def _stack_environment(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The stack must use its own sandbox and its own moto, whatever the developer's shell says.
    for name in ("SEVDESK_BASE_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(name, None)
    env.update(
        SEVBRIDGE_PORT="0",
        SEVDESK_SANDBOX_PORT="0",
        MOTO_PORT="0",
        SEVBRIDGE_STATE_DIR=str(state_dir),
        SEVBRIDGE_SCHEDULE_SECONDS=str(SCHEDULE_SECONDS),
        PYTHONUNBUFFERED="1",
        # Same import roots as pytest's `pythonpath`, so the subprocess does not depend on how
        # (or when) the package was pip-installed into the virtualenv.
        PYTHONPATH=os.pathsep.join(
            [str(REPO_ROOT / part) for part in ("local", "layers/sevbridge", "cli")]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        ),
    )
    return env


def _wait_until_up(process: subprocess.Popen[bytes], state_file: Path, stack: RunningStack) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode} while starting\n{stack.log_tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the local stack did not come up in {START_TIMEOUT_SECONDS} s\n{stack.log_tail()}")
        if state_file.exists():
            facts: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
            try:
                # Any HTTP answer means the gateway is serving.
                httpx.get(f"{facts['api_url']}/v1/openapi.json", timeout=5)
                return facts
            except httpx.TransportError:
                pass
        time.sleep(0.2)


def _interrupt(process: subprocess.Popen[bytes]) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    return process.returncode
