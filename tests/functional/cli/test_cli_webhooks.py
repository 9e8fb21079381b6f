"""The development receiver behind `sevbridge webhooks listen`: verifies with standardwebhooks, answers
4xx to what does not verify (no point retrying), and can fail the first deliveries on purpose."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from sevbridge.domain.notify.endpoints import new_signing_secret
from sevbridge_cli.listener import Delivery, Listener

pytestmark = pytest.mark.functional


def signed(secret: str, body: str, msg_id: str = "msg_1") -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }


def test_the_listener_verifies_and_can_fail_the_first_deliveries() -> None:
    secret = new_signing_secret()
    seen: list[Delivery] = []
    listener = Listener([secret], seen.append, port=0, fail_first=1)
    try:
        body = '{"id":"msg_1","type":"webhook.test","data":{}}'
        first, _ = listener.handle(body.encode(), signed(secret, body))
        second, delivery = listener.handle(body.encode(), signed(secret, body))
        assert (first, second) == (503, 204) and delivery.verified
        assert delivery.payload["type"] == "webhook.test"
        forged, refused = listener.handle(body.encode(), signed(new_signing_secret(), body))
        assert forged == 400 and not refused.verified and "signature" in (refused.problem or "")
        assert listener.url.startswith("http://127.0.0.1:")
    finally:
        listener.shutdown()
