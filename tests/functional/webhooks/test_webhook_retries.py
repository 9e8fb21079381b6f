"""Retries, exhaustion, replay and disabling, with simulated time (a day of backoff takes seconds):
the real dispatcher and tick handlers, moto DynamoDB and KMS, a real HTTP receiver; only the webhook
queue is simulated so its delays follow the test's clock."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest

from sevbridge.domain.notify.backoff import RETRY_DELAYS
from tests.functional.webhooks.conftest import ENDPOINTS, deliveries, delivery, register
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.receiver import Answer, FakeClock, Receiver, verify_at
from tests.support.webhook_sim import Simulation, install
from tests.support.worker import drain

pytestmark = pytest.mark.functional
TENANT = "/v1/tenants/school-42"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Simulation:
    return Simulation(install(monkeypatch, clock), clock)


def connect(api: HandlerApiClient, token: str) -> None:
    result = api.put(
        f"{TENANT}/connection", json_body={"sevdesk_token": token, "settings": {"unit_mapping": {"h": "Std"}}}
    )
    assert result.status == 201, result.body


def test_receiver_failing_3_times_then_ok_gets_it_once_with_every_attempt_recorded(
    api: HandlerApiClient, sim: Simulation, clock: FakeClock, receiver: Receiver
) -> None:
    created = register(api, receiver.url)
    receiver.plan(Answer(status=503), Answer(status=500, body=b'{"oops": true}'), Answer(drop=True))
    start = clock.now()
    delivery_id = api.post(f"{ENDPOINTS}/{created['endpoint_id']}/test").json["delivery_id"]
    sim.run_until(start + timedelta(hours=2))

    assert len(receiver.requests) == 4
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # one message, retried
    assert verify_at(created["secret"], receiver.requests[-1])["type"] == "webhook.test"
    detail = delivery(api, delivery_id)
    assert detail["status"] == "succeeded" and detail["attempt_count"] == 4
    attempts = detail["attempts"]
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "retry", "succeeded"]
    assert [a["status_code"] for a in attempts] == [503, 500, None, 204]
    assert attempts[1]["response_excerpt"] == '{"oops": true}'
    assert "network error" in attempts[2]["error"]
    # The schedule: at once, then 5 s, 5 min and 30 min after the previous attempt.
    times = [datetime_of(a["at"]) for a in attempts]
    assert [round((b - a).total_seconds()) for a, b in itertools.pairwise(times)] == [5, 300, 1800]


def test_down_for_25_hours_exhausts_and_a_replay_delivers(
    api: HandlerApiClient, sim: Simulation, clock: FakeClock, receiver: Receiver, sevdesk_account: Any, aws: Any
) -> None:
    created = register(api, receiver.url, event_types=["transfer.succeeded"])
    connect(api, sevdesk_account.token)
    receiver.go_down()
    start = clock.now()
    api.post(f"{TENANT}/events", json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)  # the transfer worker: transferred, and its webhook recorded with the ledger row
    sim.run_until(start + timedelta(hours=25))

    (failed,) = deliveries(api, status="exhausted")
    detail = delivery(api, failed["delivery_id"])
    assert detail["type"] == "transfer.succeeded" and detail["attempt_count"] == 8
    assert "gave up after 8 attempts" in detail["last_error"]
    assert len(receiver.requests) == 8
    first, last = (datetime_of(detail["attempts"][i]["at"]) for i in (0, -1))
    assert last - first == sum(RETRY_DELAYS, timedelta())  # 24 h 35 min: the whole schedule was used
    assert deliveries(api, status="pending") == []

    receiver.come_back()
    replayed = api.post(f"/v1/webhooks/deliveries/{failed['delivery_id']}/replay")
    assert replayed.status == 202, replayed.body
    sim.run_until(clock.now() + timedelta(seconds=1))
    detail = delivery(api, failed["delivery_id"])
    assert detail["status"] == "succeeded" and detail["round"] == 1 and detail["attempt_count"] == 9
    received = receiver.requests[-1]
    payload = verify_at(created["secret"], received)
    assert payload["id"] == detail["message_id"] == receiver.requests[0].headers["webhook-id"]
    assert payload["data"]["source_id"] == load_event("platform-invoice-upserted.json")["data"]["source_id"]


def test_bulk_replay_of_everything_that_failed_since_a_time(
    api: HandlerApiClient, sim: Simulation, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint_id = register(api, receiver.url)["endpoint_id"]
    receiver.default = Answer(status=400)  # a receiver bug: refused for good, no retries
    start = clock.now()
    for _ in range(3):
        api.post(f"{ENDPOINTS}/{endpoint_id}/test")
        clock.advance(timedelta(seconds=1))
    sim.run_until(clock.now() + timedelta(minutes=1))
    assert [d["status"] for d in deliveries(api)] == ["failed"] * 3
    assert len(receiver.requests) == 3  # 4xx: not retried

    receiver.default = Answer()
    result = api.post("/v1/webhooks/deliveries/replay", json_body={"since": start.isoformat()})
    assert result.status == 202, result.body
    assert result.json["replayed"] == 3 and result.json["more"] is False
    sim.run_until(clock.now() + timedelta(seconds=1))
    assert [d["status"] for d in deliveries(api)] == ["succeeded"] * 3
    again = api.post("/v1/webhooks/deliveries/replay", json_body={"since": start.isoformat()})
    assert again.json["replayed"] == 0


def test_an_endpoint_failing_for_days_is_disabled_with_a_notice(
    api: HandlerApiClient, sim: Simulation, clock: FakeClock, receiver: Receiver, aws: Any
) -> None:
    from tests.support.receiver import Receiver as Healthy

    other = Healthy()
    try:
        broken = register(api, receiver.url, event_types=["changes.available"])
        watcher = register(api, other.url, event_types=["webhook.endpoint_disabled"])
        receiver.default = Answer(status=500)
        start = clock.now()
        from sevbridge import wiring

        platform_id = next(p.platform_id for p in wiring.platform_store().list())
        notifier, store = wiring.notifier(), wiring.delivery_store()
        day = 0
        while clock.now() < start + timedelta(days=7):
            notices = notifier.changes_available(platform_id, "school-42", cursor=f"c{day}", count=1)
            store.write(notices)
            notifier.dispatch_soon(notices)
            day += 1
            sim.run_until(clock.now() + timedelta(hours=24))

        endpoint = api.get(f"{ENDPOINTS}/{broken['endpoint_id']}").json
        assert endpoint["enabled"] is False
        assert "no successful delivery for 5 days" in endpoint["disabled_reason"]
        disabled_at = datetime_of(endpoint["disabled_at"])
        assert timedelta(days=5) <= disabled_at - start < timedelta(days=5, hours=13)
        (notice,) = other.of_type("webhook.endpoint_disabled")
        assert notice.json["data"]["endpoint_id"] == broken["endpoint_id"]
        assert verify_at(watcher["secret"], notice)
        # Not retried forever: after disabling, nothing more is sent to it or recorded for it.
        sent_before = len(receiver.requests)
        notices = notifier.changes_available(platform_id, "school-42", cursor="late", count=1)
        assert not notices
        sim.run_until(clock.now() + timedelta(days=2))
        assert len(receiver.requests) == sent_before
        assert deliveries(api, status="pending") == []
        # Re-enabled by the platform: a test event goes through, failing_since starts over.
        receiver.default = Answer()
        enabled = api.request("PATCH", f"{ENDPOINTS}/{broken['endpoint_id']}", json_body={"enabled": True})
        assert enabled.json["enabled"] is True and enabled.json["failing_since"] is None
    finally:
        other.close()


def datetime_of(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)
