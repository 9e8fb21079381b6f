"""Backfill fixtures: a connected tenant (school-42) on a fresh sandbox account, failed messages back
at once on both queues, and builders for backfill lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.api_client import HandlerApiClient
from tests.support.worker import make_retries_immediate

TENANT = "school-42"
BASE = f"/v1/tenants/{TENANT}/backfills"


CHUNK = 10  # documents per chunk in these tests (50 in production): several chunks with few documents


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKFILL_CHUNK_LINES", str(CHUNK))


@pytest.fixture
def connected(api: HandlerApiClient, sevdesk_account: Any, aws: Any) -> Any:
    result = api.put(f"/v1/tenants/{TENANT}/connection", json_body={"sevdesk_token": sevdesk_account.token})
    assert result.status == 201, result.body
    make_retries_immediate(aws)
    make_retries_immediate(aws, "BackfillQueue")
    return sevdesk_account


def invoice_line(
    n: int,
    *,
    status: str = "sent",
    day: str = "2024-03-01",
    version: str = "2024-03-02T10:00:00+00:00",
    unit: str = "Stk",
    customer: int | None = None,
) -> dict[str, Any]:
    c = customer if customer is not None else n % 5
    return {
        "occurred_at": version,
        "data": {
            "source_id": f"inv-{n}",
            "number": f"RE-{n:06d}",
            "status": status,
            "invoice_date": day,
            "customer": {
                "source_id": f"cust-{c}",
                "company_name": f"Kunde {c} GmbH",
                "customer_number": f"K-{c:04d}",
                "billing_address": {"street": "Musterstraße 1", "zip": "10115", "city": "Berlin", "country": "DE"},
            },
            "positions": [{"name": "Training", "quantity": "1", "unit": unit, "unit_price": "40.00", "tax_rate": "19"}],
        },
    }


def ndjson(lines: list[Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@pytest.fixture
def create_push(api: HandlerApiClient) -> Callable[..., dict[str, Any]]:
    def create(**body: Any) -> dict[str, Any]:
        result = api.post(BASE, json_body={"direction": "push", "kind": "invoices", **body})
        assert result.status == 201, result.body
        created: dict[str, Any] = result.json
        return created

    return create
