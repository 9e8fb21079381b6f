"""Fixtures: the session's sevDesk sandbox (on a real socket), a real SevdeskClient, the gateway, and the mapping
store on a moto DynamoDB table. Each test gets a fresh sandbox account (= a fresh tenant)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
from sevbridge.adapters.sevdesk.gateway import build_push_service
from sevbridge.adapters.sevdesk.reference_cache import ReferenceCache, default_reference_cache
from sevbridge.domain.push.service import Patience, PushService
from sevbridge.domain.settings import TenantSettings
from sevdesk_sandbox import SandboxServer, SandboxState

TABLE = "sevbridge-tenants-test"
PLATFORM = "plat-1"
TODAY = date(2025, 7, 15)
CLIENT_TIMEOUT = 0.6  # seconds; the sandbox's timeout_after_commit fault waits longer than this

_versions = itertools.count(1)


@pytest.fixture
def state(sandbox_state: SandboxState) -> Iterator[SandboxState]:
    """The session's sandbox (tests/functional/conftest.py), faults cleared before and after."""
    yield sandbox_state
    sandbox_state.clear_faults()


@pytest.fixture(autouse=True)
def _fresh_reference_cache() -> Iterator[None]:
    """The process-wide reference-data cache starts empty for every test."""
    default_reference_cache.reset()
    yield
    default_reference_cache.reset()


@pytest.fixture
def account(state: SandboxState) -> Any:
    return state.create_account(name="Push Test GmbH")


@pytest.fixture
def table() -> Iterator[str]:
    with mock_aws():
        aws_clients.reset()
        boto3.client("dynamodb", region_name="eu-central-1").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield TABLE
        aws_clients.reset()


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def mappings(table: str) -> DynamoMappingStore:
    # One table stands for both: the ledger (document items with `map`) and the tenants table (MARKING).
    return DynamoMappingStore(table, table)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False) as client:
        yield client


@dataclass
class Tenant:
    """One tenant wired to its own sandbox account; `service()` builds a PushService like the worker."""

    sandbox: SandboxServer
    account: Any
    mappings: DynamoMappingStore
    http: httpx.Client
    tenant_id: str

    def client(self) -> SevdeskClient:
        return SevdeskClient(
            self.account.token,
            base_url=self.sandbox.url,
            tenant_key=f"{PLATFORM}:{self.tenant_id}",
            http=self.http,
            timeout=CLIENT_TIMEOUT,
            max_attempts=2,
            max_backoff=0.01,
            brake=ErrorBrake(max_errors=1000),
            sleep=lambda _: None,
        )

    def service(
        self,
        today: date = TODAY,
        *,
        reference_cache: ReferenceCache | None = None,
        settle: bool = True,
        **settings: Any,
    ) -> PushService:
        """`settle=False`: a write whose outcome is unknown ends the call at once, as when the
        worker died or ran out of time before it could look; the next call must reconcile."""
        return build_push_service(
            self.client(),
            PLATFORM,
            self.tenant_id,
            TenantSettings(**settings),
            today,
            mappings=self.mappings,
            reference_cache=reference_cache,
            patience=Patience(rounds=4 if settle else 0, sleep=lambda _: None),
        )

    def objects(self, name: str) -> list[dict[str, Any]]:
        return self.sandbox.state.objects(self.account.account_id, name)

    def contacts(self) -> list[dict[str, Any]]:
        return self.objects("Contact")

    def invoices(self) -> list[dict[str, Any]]:
        return self.objects("Invoice")

    def requests(self, method: str, path_prefix: str) -> list[Any]:
        return [
            r
            for r in self.sandbox.state.requests(self.account.account_id)
            if r.method == method and r.path.startswith(path_prefix)
        ]

    def request_count(self) -> int:
        return len(self.sandbox.state.requests(self.account.account_id))

    def calls_since(self, start: int) -> list[str]:
        """'METHOD /path' of every sevDesk request of this account after the first `start` ones."""
        return [f"{r.method} {r.path}" for r in self.sandbox.state.requests(self.account.account_id)[start:]]


@pytest.fixture
def tenant(
    sandbox: SandboxServer, state: SandboxState, account: Any, mappings: DynamoMappingStore, http: httpx.Client
) -> Tenant:
    return Tenant(sandbox, account, mappings, http, tenant_id=f"tenant-{account.account_id}")


@pytest.fixture
def version() -> Callable[[], datetime]:
    """Increasing source versions (the platform's occurred_at)."""
    base = datetime(2025, 7, 1, tzinfo=UTC)
    return lambda: base + timedelta(minutes=next(_versions))
