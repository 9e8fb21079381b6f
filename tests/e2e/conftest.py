"""Starts `python -m local_stack` once per session, exactly as `make run` does, and stops it with Ctrl-C.

The stack picks free ports itself (port 0) and reports the real URLs in stack.json, which is how
these tests find it. Its output goes to local-stack.log in the state directory; failures show the tail.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.local_stack_process import LocalStackError, interrupt, stack_environment, start, wait_until_up

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
    # A Retry-After longer than 1 s pauses a transfer (it comes back after that long) instead of being
    # waited out in place, so the e2e tests see pauses in seconds.
    env = stack_environment(
        state_dir, SEVBRIDGE_SCHEDULE_SECONDS=str(SCHEDULE_SECONDS), SEVDESK_MAX_BACKOFF_SECONDS="1"
    )
    process = start(state_dir, log_path, env)
    stack = RunningStack(facts={}, log_path=log_path, process=process)
    try:
        try:
            facts = wait_until_up(process, state_dir / "stack.json", START_TIMEOUT_SECONDS, stack.log_tail)
        except LocalStackError as exc:
            pytest.fail(str(exc))
        stack = RunningStack(facts=facts, log_path=log_path, process=process)
        yield stack
    finally:
        exit_code = interrupt(process, STOP_TIMEOUT_SECONDS)
    assert exit_code == 0, f"the local stack exited with {exit_code} after Ctrl-C\n{stack.log_tail()}"


@pytest.fixture(scope="session")
def api(local_stack: RunningStack) -> Iterator[httpx.Client]:
    """An HTTP client for the local API, authenticated as the demo platform."""
    headers = {"Authorization": f"Bearer {local_stack.platform_api_key}"}
    with httpx.Client(base_url=local_stack.api_url, headers=headers, timeout=30) as client:
        yield client
