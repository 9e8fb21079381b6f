"""Functional tier: the real handlers against moto (`mock_aws`, resources provisioned from template.yaml)
and the sevDesk sandbox on a loopback port."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

from local_stack import moto_fixes
from local_stack.provision import ProvisionedStack, provision
from sevdesk_sandbox.server import serve
from sevdesk_sandbox.state import SandboxState
from tests.support.api_client import HandlerApiClient

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "sevbridge",
    "POWERTOOLS_METRICS_NAMESPACE": "sevbridge",
    "POWERTOOLS_LOG_LEVEL": "DEBUG",
    "SEVDESK_TIMEOUT_SECONDS": "1.5",
    "SEVDESK_MAX_ATTEMPTS": "2",
    "SEVDESK_MAX_BACKOFF_SECONDS": "0.05",
    # Failed transfers come back at once (in production: 10 s, 30 s, 2 min, …); tests of the delays set their own.
    "TRANSFER_RETRY_DELAYS": "0",
}


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    state = SandboxState()
    server = serve(state, host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture
def sandbox_state(sandbox: Any) -> SandboxState:
    state: SandboxState = sandbox.state
    state.clear_faults()
    return state


@contextmanager
def moto_world(patch: pytest.MonkeyPatch, sandbox: Any) -> Iterator[ProvisionedStack]:
    """A fresh moto world (with the moto fixes of tests/conftest.py, as on the local stack), every
    resource of template.yaml and the functions' environment; caches that outlive a world start over."""
    moto_fixes.apply()  # idempotent; tests/conftest.py applied them already, a world never runs without
    for name, value in AWS_TEST_ENV.items():
        patch.setenv(name, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        stack = provision()
        for name, value in stack.environment().items():
            patch.setenv(name, value)
        patch.setenv("SEVDESK_BASE_URL", sandbox.url)
        from sevbridge import wiring
        from sevbridge.adapters.sevdesk import brake, gate, reference_cache

        wiring.reset()
        brake.default_brake.reset()
        gate.default_gate.reset()
        reference_cache.default_reference_cache.reset()
        try:
            yield stack
        finally:
            wiring.reset()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> Iterator[ProvisionedStack]:
    """A fresh moto world per test."""
    with moto_world(monkeypatch, sandbox) as stack:
        yield stack


def load_function(name: str) -> ModuleType:
    return importlib.import_module(f"functions.{name}.app")


def run_schedule_tick() -> dict[str, int]:
    """One run of the 15-minute schedule tick's real Lambda handler (the import scheduler)."""
    from local_stack.lambda_context import LocalLambdaContext

    context = LocalLambdaContext(
        function_name="s",
        invoked_function_arn="arn:aws:lambda:eu-central-1:1:function:s",
        memory_limit_in_mb=256,
        timeout_seconds=60,
    )
    return load_function("import_scheduler").lambda_handler({}, context)  # type: ignore[no-any-return]


@pytest.fixture
def api_handler(aws: ProvisionedStack) -> Any:
    return load_function("api").lambda_handler


@pytest.fixture
def platform(aws: ProvisionedStack) -> tuple[Any, str]:
    from sevbridge import wiring
    from sevbridge.domain.platforms import create_platform

    return create_platform(wiring.platform_store(), wiring.clock(), "Acme Field Service")


@pytest.fixture
def api(api_handler: Any, platform: tuple[Any, str]) -> HandlerApiClient:
    return HandlerApiClient(api_handler, api_key=platform[1])


@pytest.fixture
def sevdesk_account(sandbox_state: SandboxState) -> Any:
    return sandbox_state.create_account(name="Hundeschule Bello GmbH")
