"""Starts `python -m local_stack` as `make run` does (free ports, its own state directory) and stops it
with Ctrl-C. Used by the e2e tests and by `make bench`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


class LocalStackError(RuntimeError):
    pass


def stack_environment(state_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # The stack must use its own sandbox and its own moto, whatever the developer's shell says.
    for name in ("SEVDESK_BASE_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(name, None)
    env.update(
        SEVBRIDGE_PORT="0",
        SEVDESK_SANDBOX_PORT="0",
        MOTO_PORT="0",
        SEVBRIDGE_STATE_DIR=str(state_dir),
        PYTHONUNBUFFERED="1",
        # Same import roots as pytest's `pythonpath`, so the subprocess does not depend on how
        # (or when) the package was pip-installed into the virtualenv.
        PYTHONPATH=os.pathsep.join(
            [str(REPO_ROOT / part) for part in ("local", "layers/sevbridge", "cli")]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        ),
    )
    env.update(extra)
    return env


def start(state_dir: Path, log_path: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "local_stack"],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def wait_until_up(
    process: subprocess.Popen[bytes], state_file: Path, timeout: float, describe: Callable[[], str]
) -> dict[str, Any]:
    """The stack's facts (stack.json) once its API answers; LocalStackError if it exits or is too slow."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise LocalStackError(f"the local stack exited with {process.returncode} while starting\n{describe()}")
        if time.monotonic() > deadline:
            raise LocalStackError(f"the local stack did not come up in {timeout} s\n{describe()}")
        if state_file.exists():
            facts: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
            try:
                # Any HTTP answer means the gateway is serving.
                httpx.get(f"{facts['api_url']}/v1/openapi.json", timeout=5)
                return facts
            except httpx.TransportError:
                pass
        time.sleep(0.2)


def interrupt(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """Ctrl-C, then wait; the exit code, or None if it had to be killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    return process.returncode
