"""Secret rotation as a receiver sees it (standardwebhooks verifies with the old and the new secret for
24 h, then only the new), and a tenant's own URL override with its own secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.functional.webhooks.conftest import ENDPOINTS, deliveries, dispatch, register
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.receiver import FakeClock, Receiver, verify_at
from tests.support.worker import drain

pytestmark = pytest.mark.functional
TENANT = "/v1/tenants/school-42"


def test_during_rotation_both_secrets_verify_and_after_24_hours_only_the_new_one(
    api: HandlerApiClient, aws: Any, clock: FakeClock, receiver: Receiver
) -> None:
    created = register(api, receiver.url)
    endpoint_id, old = created["endpoint_id"], created["secret"]
    rotated = api.post(f"{ENDPOINTS}/{endpoint_id}/rotate-secret")
    assert rotated.status == 200, rotated.body
    new = rotated.json["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated.json["previous_secret_expires_at"] == (clock.now() + timedelta(hours=24)).isoformat().replace(
        "+00:00", "Z"
    )

    api.post(f"{ENDPOINTS}/{endpoint_id}/test")
    dispatch(aws)
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    # A receiver still on the old secret and one already on the new one both accept it.
    assert verify_at(old, during)["type"] == "webhook.test"
    assert verify_at(new, during)["type"] == "webhook.test"

    clock.advance(timedelta(hours=24, seconds=1))
    api.post(f"{ENDPOINTS}/{endpoint_id}/test")
    dispatch(aws)
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verify_at(new, after)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        verify_at(old, after)
    view = api.get(f"{ENDPOINTS}/{endpoint_id}").json
    assert view["previous_secret_expires_at"] is None


def test_a_tampered_body_or_a_foreign_secret_does_not_verify(
    api: HandlerApiClient, aws: Any, loopback: None, receiver: Receiver
) -> None:
    created = register(api, receiver.url)
    api.post(f"{ENDPOINTS}/{created['endpoint_id']}/test")
    dispatch(aws)
    (got,) = receiver.requests
    Webhook(created["secret"]).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(got.body.replace("webhook.test", "webhook.tset"), got.headers)
    other = register(api, receiver.url)["secret"]
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(got.body, got.headers)


def test_a_tenant_url_override_gets_the_tenants_events_signed_with_its_own_secret(
    api: HandlerApiClient, aws: Any, loopback: None, receiver: Receiver, sevdesk_account: Any
) -> None:
    platform_secret = register(api, receiver.url)["secret"]
    own = Receiver()
    try:
        put = api.put(
            f"{TENANT}/connection",
            json_body={"sevdesk_token": sevdesk_account.token, "settings": {"webhook_url": own.url}},
        )
        assert put.status == 201, put.body
        tenant_secret = put.json["webhook_secret"]
        assert tenant_secret.startswith("whsec_") and tenant_secret != platform_secret
        listed = api.get(ENDPOINTS).json["items"]
        assert [(e["endpoint_id"], e["kind"]) for e in listed][-1] == ("tenant:school-42", "tenant_override")
        assert api.get(f"{TENANT}/connection").json["settings"]["webhook_url"] == own.url
        # Shown once: the next PUT with a URL does not show it again.
        again = api.put(f"{TENANT}/connection", json_body={"settings": {"webhook_url": own.url}})
        assert again.json["webhook_secret"] is None

        api.post(f"{TENANT}/events", json_body=load_event("platform-invoice-upserted.json"))
        drain(aws)
        dispatch(aws)
        (got,) = own.requests
        assert Webhook(tenant_secret).verify(got.body, got.headers)["type"] == "transfer.succeeded"
        with pytest.raises(WebhookVerificationError):
            Webhook(platform_secret).verify(got.body, got.headers)
        assert receiver.requests == []  # instead of the platform's endpoints, not as well

        override = "tenant:school-42"
        assert api.request("PATCH", f"{ENDPOINTS}/{override}", json_body={"url": receiver.url}).status == 422
        assert api.delete(f"{ENDPOINTS}/{override}").status == 409
        rotated = api.post(f"{ENDPOINTS}/{override}/rotate-secret")
        assert rotated.status == 200 and rotated.json["secret"] != tenant_secret

        # Without the override, the tenant's events go to the platform's endpoints again.
        api.put(f"{TENANT}/connection", json_body={"settings": {"webhook_url": None}})
        assert api.get(f"{ENDPOINTS}/{override}").status == 404
        event = load_event("platform-invoice-upserted.json", id="evt-2", data__source_id="inv-2")
        event["data"]["number"] = "PL-2"
        api.post(f"{TENANT}/events", json_body=event)
        drain(aws)
        dispatch(aws)
        (later,) = receiver.requests
        assert Webhook(platform_secret).verify(later.body, later.headers)["data"]["source_id"] == "inv-2"
        assert len(own.requests) == 1
        assert {d["endpoint_id"] for d in deliveries(api, tenant_id="school-42")} == {
            override,
            listed[0]["endpoint_id"],
        }
    finally:
        own.close()


def test_deployed_mode_refuses_a_non_public_override_url(api: HandlerApiClient, sevdesk_account: Any) -> None:
    for url in ("http://hooks.example.com/x", "https://192.168.1.20/hook"):
        result = api.put(
            f"{TENANT}/connection", json_body={"sevdesk_token": sevdesk_account.token, "settings": {"webhook_url": url}}
        )
        assert result.status == 422, result.body
        assert result.json["error"]["details"][0]["field"] == "settings.webhook_url"
    assert api.get(f"{TENANT}/connection").status == 404  # nothing stored
