"""Pure rules of the notify domain with in-memory fakes: who receives what, the delivery state machine,
rotation, and "once per incident" for reconnect_required when many workers see the same 401."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.connections import ConnectionService
from sevbridge.domain.errors import ConcurrentUpdate
from sevbridge.domain.notify.backoff import MAX_ATTEMPTS
from sevbridge.domain.notify.deliveries import Delivery, DeliveryStatus, SendResult
from sevbridge.domain.notify.endpoints import Endpoint, EndpointKind, SealedSecret, destinations, override_id
from sevbridge.domain.notify.notices import Notices
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.notify.ports import DispatchMessage
from sevbridge.domain.notify.types import NotificationType as T

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def endpoint(endpoint_id: str = "ep_1", **changes: Any) -> Endpoint:
    return Endpoint(
        endpoint_id=endpoint_id, platform_id="plt", url="https://x.example/h", created_at=NOW, updated_at=NOW, **changes
    )


def override(tenant: str = "t1", **changes: Any) -> Endpoint:
    return endpoint(override_id(tenant), kind=EndpointKind.TENANT_OVERRIDE, tenant_ids=[tenant], **changes)


def test_endpoints_receive_what_they_subscribe_to_for_the_tenants_they_cover() -> None:
    everything = endpoint("ep_all")
    failures = endpoint("ep_fail", event_types=[T.TRANSFER_FAILED])
    only_t2 = endpoint("ep_t2", tenant_ids=["t2"])
    off = endpoint("ep_off", enabled=False)
    found = destinations([everything, failures, only_t2, off], None, "t1", T.TRANSFER_FAILED)
    assert [e.endpoint_id for e in found] == ["ep_all", "ep_fail"]
    assert [e.endpoint_id for e in destinations([failures], None, "t1", T.TRANSFER_SUCCEEDED)] == []


def test_a_tenant_override_replaces_the_platforms_endpoints_for_that_tenant_only() -> None:
    platform = [endpoint("ep_all")]
    assert [e.endpoint_id for e in destinations(platform, override("t1"), "t1", T.TRANSFER_SUCCEEDED)] == ["tenant:t1"]
    assert destinations(platform, override("t1", enabled=False), "t1", T.TRANSFER_SUCCEEDED) == []
    assert [e.endpoint_id for e in destinations(platform, None, "t2", T.TRANSFER_SUCCEEDED)] == ["ep_all"]
    assert not override("t1").wants(T.ENDPOINT_DISABLED, None)  # events about endpoints go to the platform


def test_rotation_keeps_the_previous_secret_for_24_hours() -> None:
    first = SealedSecret(ciphertext=b"one", created_at=NOW)
    rotated = endpoint(secrets=[first]).with_new_secret(SealedSecret(ciphertext=b"two", created_at=NOW), NOW)
    assert [s.ciphertext for s in rotated.active_secrets(NOW + timedelta(hours=23))] == [b"two", b"one"]
    assert [s.ciphertext for s in rotated.active_secrets(NOW + timedelta(hours=24))] == [b"two"]


def delivery() -> Delivery:
    return Delivery.new(
        platform_id="plt",
        tenant_id="t1",
        endpoint_id="ep_1",
        message_id="msg_1",
        type_=T.TRANSFER_FAILED,
        occurred_at=NOW,
        body="{}",
        now=NOW,
    )


def test_the_delivery_state_machine() -> None:
    d = delivery()
    failing = SendResult(latency_ms=3, status_code=503, retry_after_seconds=60)
    for attempt in range(1, MAX_ATTEMPTS):
        d = d.after_attempt(failing, NOW)
        assert d.status is DeliveryStatus.PENDING and d.attempts_in_round == attempt
    d = d.after_attempt(failing, NOW)
    assert d.status is DeliveryStatus.EXHAUSTED and d.next_attempt_at is None
    assert d.last_error == f"gave up after {MAX_ATTEMPTS} attempts: HTTP 503"
    again = d.replayed(NOW)
    assert (again.status, again.round, again.attempts_in_round, again.attempts_made) == (
        DeliveryStatus.PENDING,
        1,
        0,
        8,
    )
    done = again.after_attempt(SendResult(latency_ms=1, status_code=200), NOW)
    assert done.status is DeliveryStatus.SUCCEEDED and [a.round for a in done.attempts][-1] == 1
    refused = delivery().after_attempt(SendResult(latency_ms=1, status_code=404), NOW)
    assert refused.status is DeliveryStatus.FAILED and refused.next_attempt_at is None


def test_retry_after_is_honoured_for_the_next_attempt() -> None:
    d = delivery().after_attempt(SendResult(latency_ms=1, status_code=429, retry_after_seconds=600), NOW)
    assert d.next_attempt_at == NOW + timedelta(seconds=600)


# --- "once per incident" with many workers hitting the same 401 -------------------------------------
@dataclass
class Catalog:
    endpoints: list[Endpoint]

    def platform_endpoints(self, platform_id: str) -> list[Endpoint]:
        return self.endpoints

    def tenant_override(self, platform_id: str, tenant_id: str) -> Endpoint | None:
        return None

    def forget(self, platform_id: str, tenant_id: str | None = None) -> None:
        pass


class NoGuards:
    def last_notice_at(self, platform_id: str, tenant_id: str, key: str) -> datetime | None:
        return None


@dataclass
class Queue:
    sent: list[DispatchMessage] = field(default_factory=list)

    def enqueue(self, messages: Sequence[DispatchMessage]) -> int:
        self.sent.extend(messages)
        return len(messages)


class Clock:
    def now(self) -> datetime:
        return NOW


@dataclass
class RacyStore:
    """A connection store where every worker read the connection before anyone wrote (a 401 storm)."""

    current: Connection
    stale_reads: int
    notices: list[Notices] = field(default_factory=list)

    def get(self, platform_id: str, tenant_id: str) -> Connection | None:
        if self.stale_reads:
            self.stale_reads -= 1
            return self.current.model_copy(update={"status": ConnectionStatus.CONNECTED, "revision": 1})
        return self.current

    def save(self, connection: Connection, notices: Notices | None = None) -> Connection:
        if connection.revision != self.current.revision:
            raise ConcurrentUpdate("changed")
        self.current = connection.model_copy(update={"revision": connection.revision + 1})
        if notices:
            self.notices.append(notices)
        return self.current

    def list_connections(self) -> list[Connection]:
        return [self.current]


def test_fifty_workers_seeing_the_same_401_produce_one_reconnect_required() -> None:
    connection = Connection(
        platform_id="plt",
        tenant_id="t1",
        token_ciphertext=b"x",
        token_fingerprint="…abcd",
        revision=1,
        created_at=NOW,
        updated_at=NOW,
    )
    store = RacyStore(connection, stale_reads=50)
    queue = Queue()
    notifier = Notifier(catalog=Catalog([endpoint()]), guards=NoGuards(), queue=queue, clock=Clock())
    service = ConnectionService(
        store=store,
        vault=None,
        probe=None,
        eraser=None,
        clock=Clock(),
        notifier=notifier,  # type: ignore[arg-type]
    )
    flipped = [service.mark_reconnect_required("plt", "t1", "401", token_version=1) for _ in range(50)]
    assert flipped.count(True) == 1
    (notices,) = store.notices
    (only,) = notices.deliveries
    assert only.type is T.CONNECTION_RECONNECT_REQUIRED
    assert json.loads(only.body)["data"]["token_fingerprint"] == "…abcd"
    assert len(queue.sent) == 1
    # A 401 seen with an older token (one replaced meanwhile) is not this incident.
    assert service.mark_reconnect_required("plt", "t1", "401", token_version=0) is False


def test_the_log_serializer_masks_signing_secrets_as_a_last_line_of_defence() -> None:
    from sevbridge.common.observability import redact
    from sevbridge.domain.notify.endpoints import new_signing_secret

    secret = new_signing_secret()
    assert secret not in redact(f"oops: {secret} leaked")
