"""A real sandbox server per test, and an httpx client authenticated for one account."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sevdesk_sandbox import Account, SandboxServer, SandboxState, serve


@pytest.fixture
def state() -> SandboxState:
    return SandboxState()


@pytest.fixture
def server(state: SandboxState) -> Iterator[SandboxServer]:
    running = serve(state, host="127.0.0.1", port=0)
    yield running
    running.shutdown()


@pytest.fixture
def account(state: SandboxState) -> Account:
    return state.create_account(name="Demo GmbH")


@pytest.fixture
def client(server: SandboxServer, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": account.token}, timeout=5) as http:
        yield http


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.admin_url, timeout=5) as http:
        yield http
