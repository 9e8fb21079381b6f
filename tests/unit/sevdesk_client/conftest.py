"""Fixtures: a client wired to the scripted fake sevDesk. Nothing here opens a socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
from sevbridge.adapters.sevdesk.gate import RequestGate
from tests.unit.sevdesk_client.fakes import BASE_URL, TOKEN, FakeSevdesk


@pytest.fixture
def fake() -> FakeSevdesk:
    return FakeSevdesk()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http(fake: FakeSevdesk) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(fake.handle)) as client:
        yield client


@pytest.fixture
def brake() -> ErrorBrake:
    # Generous by default so retry tests are not cut short; brake tests build their own.
    return ErrorBrake(max_errors=1000)


@pytest.fixture
def gate(sleeps: list[float]) -> RequestGate:
    # Its own per test; its time passes with the client's (recorded, not slept) waits.
    return RequestGate(clock=lambda: sum(sleeps))


@pytest.fixture
def make_client(
    http: httpx.Client, sleeps: list[float], brake: ErrorBrake, gate: RequestGate
) -> Callable[..., SevdeskClient]:
    def make(**overrides: Any) -> SevdeskClient:
        kwargs: dict[str, Any] = {
            "base_url": BASE_URL,
            "tenant_key": "platform-a:tenant-1",
            "http": http,
            "brake": brake,
            "gate": gate,
            "sleep": sleeps.append,
        }
        kwargs.update(overrides)
        return SevdeskClient(TOKEN, **kwargs)

    return make


@pytest.fixture
def client(make_client: Callable[..., SevdeskClient]) -> SevdeskClient:
    return make_client()
