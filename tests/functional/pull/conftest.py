"""Imports through the real handlers: a tenant connected over the API to a fresh sandbox account, the
import worker fed by the local stack's SQS poller, the change feed read over the API.

One moto world per test module (provisioning the template takes seconds): every test gets its own
tenant and its own sandbox account, so tests share tables and queues but never data."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from local_stack.provision import ProvisionedStack
from sevbridge import wiring
from sevbridge.adapters.sevdesk.brake import default_brake
from sevbridge.adapters.sevdesk.reference_cache import default_reference_cache
from sevbridge.domain.platforms import create_platform
from sevbridge.domain.pull.messages import ImportMessage
from sevbridge.domain.pull.records import ImportKind
from sevbridge.domain.pull.runs import ImportRun
from sevbridge.workers.imports import _reader
from sevdesk_sandbox import SandboxState
from sevdesk_sandbox.clock import iso
from tests.functional.conftest import load_function, moto_world
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty, make_retries_immediate

TENANT = "shop-7"


@dataclass
class PullTenant:
    api: HandlerApiClient
    stack: ProvisionedStack
    sandbox: SandboxState
    account: Any
    platform_id: str
    tenant_id: str = TENANT

    # -- sevDesk side ----------------------------------------------------------------------------
    def objects(self, name: str) -> list[dict[str, Any]]:
        return self.sandbox.objects(self.account.account_id, name)

    def change(self, object_name: str, object_id: str, /, minutes_later: float = 1, **fields: Any) -> dict[str, Any]:
        """An edit in sevDesk's web UI, `minutes_later` than now (clear of sevbridge's own writes)."""
        later = iso(self.sandbox.now() + timedelta(minutes=minutes_later))
        return self.sandbox.change(self.account.account_id, object_name, object_id, fields, update=later)

    def delete(self, name: str, object_id: str) -> None:
        from sevdesk_sandbox.deletion import delete_with_dependents

        with self.sandbox.locked():
            delete_with_dependents(self.sandbox, self.sandbox.account(self.account.account_id), name, object_id)

    def seed(self, object_name: str, /, **fields: Any) -> dict[str, Any]:
        return self.sandbox.seed(self.account.account_id, object_name, fields)

    def sevdesk_requests(self) -> int:
        return len(self.sandbox.requests(self.account.account_id))

    # -- sevbridge side --------------------------------------------------------------------------
    def start(self, **body: Any) -> dict[str, Any]:
        result = self.api.post(f"/v1/tenants/{self.tenant_id}/imports", json_body=body)
        assert result.status in (200, 202), result.body
        return dict(result.json)

    def import_now(self, **body: Any) -> dict[str, Any]:
        """POST …/imports, let the worker run it to the end, return the finished import."""
        run = self.start(**body)
        drain_until_empty(self.stack, "ImportQueue")
        return self.run(run["run_id"])

    def run(self, run_id: str) -> dict[str, Any]:
        result = self.api.get(f"/v1/tenants/{self.tenant_id}/imports/{run_id}")
        assert result.status == 200, result.body
        return dict(result.json)

    def feed(self, after: str | None = None, **query: str) -> tuple[list[dict[str, Any]], str]:
        """Every change after `after` (all pages), and the cursor to continue from."""
        items: list[dict[str, Any]] = []
        cursor = after
        while True:
            params = {**query, **({"after": cursor} if cursor else {})}
            page = self.api.get(f"/v1/tenants/{self.tenant_id}/changes", query=params)
            assert page.status == 200, page.body
            items += page.json["items"]
            cursor = page.json["next_cursor"]
            if not page.json["has_more"]:
                return items, cursor

    def step(self, run: ImportRun | str, *, should_stop: Callable[[], bool] = lambda: False, **kw: Any) -> Any:
        """One import message through the real runner (as the worker does), with a chosen deadline."""
        run_id = run if isinstance(run, str) else run.run_id
        message = ImportMessage(
            platform_id=self.platform_id, tenant_id=self.tenant_id, run_id=run_id, trigger="manual", dedup_id="t"
        )
        return wiring.import_runner(_reader).handle(message, should_stop=should_stop, **kw)


@dataclass
class ModuleStack:
    stack: ProvisionedStack
    api: HandlerApiClient
    platform_id: str


@pytest.fixture(scope="module")
def module_stack(sandbox: Any) -> Iterator[ModuleStack]:
    """The `aws` fixture's world (tests/functional/conftest.py: moto fixes included), once per module,
    with a platform."""
    with pytest.MonkeyPatch.context() as patch, moto_world(patch, sandbox) as stack:
        platform, key = create_platform(wiring.platform_store(), wiring.clock(), "Import Platform")
        make_retries_immediate(stack, "ImportQueue")
        yield ModuleStack(
            stack, HandlerApiClient(load_function("api").lambda_handler, api_key=key), platform.platform_id
        )


@pytest.fixture
def tenant(module_stack: ModuleStack, sandbox_state: SandboxState) -> PullTenant:
    default_brake.reset()
    default_reference_cache.reset()
    account = sandbox_state.create_account(name="Import GmbH")
    tenant_id = f"{TENANT}-{uuid.uuid4().hex[:8]}"
    api = module_stack.api
    result = api.put(f"/v1/tenants/{tenant_id}/connection", json_body={"sevdesk_token": account.token})
    assert result.status == 201, result.body
    return PullTenant(api, module_stack.stack, sandbox_state, account, module_stack.platform_id, tenant_id)


@pytest.fixture(autouse=True)
def _retries_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker shortens a failed import's retry delay to a minute (doubling); here: no delay."""
    monkeypatch.setattr("sevbridge.domain.pull.runner.RETRY_DELAY_SECONDS", 0)
    monkeypatch.setattr("sevbridge.domain.pull.runner.MAX_RETRY_DELAY_SECONDS", 0)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> dict[ImportKind, int]:
    """Pages of 10 rows (5 orders): multi-page passes, overlaps and handoffs with little data."""
    sizes = {kind: (5 if kind is ImportKind.ORDER_CONFIRMATIONS else 10) for kind in ImportKind}
    monkeypatch.setattr("sevbridge.domain.pull.kinds.PAGE_SIZES", sizes)
    monkeypatch.setattr("sevbridge.domain.pull.runner.PAGE_SIZES", sizes)
    return sizes


def by_sevdesk_id(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for change in changes:
        assert change["sevdesk_id"] not in found, f"reported twice: {change['sevdesk_id']}"
        found[change["sevdesk_id"]] = change
    return found
