"""Webhooks through the real handlers: api → outbox (moto) → webhook queue (moto SQS) → dispatcher →
a real HTTP receiver on 127.0.0.1 (allowed here, as on the local stack, by WEBHOOK_ALLOW_LOOPBACK)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack.lambda_context import LocalLambdaContext
from tests.functional.conftest import load_function
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.receiver import FakeClock, Receiver
from tests.support.worker import drain

ENDPOINTS = "/v1/webhooks/endpoints"
DELIVERIES = "/v1/webhooks/deliveries"


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    """The local stack's explicit setting: http and loopback receivers allowed."""
    from sevbridge import wiring

    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "1")
    wiring.reset()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, loopback: None) -> FakeClock:
    """Every use case built by the composition root reads this clock (time travel, not sleeping)."""
    from sevbridge import wiring

    fake = FakeClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(wiring, "clock", functools.cache(lambda: fake))
    wiring.reset()
    return fake


def register(api: HandlerApiClient, url: str, **fields: Any) -> dict[str, Any]:
    result = api.post(ENDPOINTS, json_body={"url": url, **fields})
    assert result.status == 201, result.body
    body: dict[str, Any] = result.json
    return body


def deliveries(api: HandlerApiClient, **query: str) -> list[dict[str, Any]]:
    result = api.get(DELIVERIES, query=query or None)
    assert result.status == 200, result.body
    items: list[dict[str, Any]] = result.json["items"]
    return items


def delivery(api: HandlerApiClient, delivery_id: str) -> dict[str, Any]:
    result = api.get(f"{DELIVERIES}/{delivery_id}")
    assert result.status == 200, result.body
    body: dict[str, Any] = result.json
    return body


def tick() -> Any:
    """The 15-minute schedule (import_scheduler function), as EventBridge invokes it."""
    context = LocalLambdaContext(
        function_name="import-scheduler",
        invoked_function_arn="arn:aws:lambda:eu-central-1:123456789012:function:import-scheduler",
        memory_limit_in_mb=512,
        timeout_seconds=60,
    )
    return load_function("import_scheduler").lambda_handler(load_event("schedule-import-tick.json"), context)


def dispatch(aws: Any) -> int:
    return drain(aws, "WebhookQueue")
