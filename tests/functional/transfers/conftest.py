from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.api_client import HandlerApiClient
from tests.support.sent_messages import SentMessages, sent_messages
from tests.support.worker import make_retries_immediate


@pytest.fixture
def connected(api: HandlerApiClient, sevdesk_account: Any, aws: Any) -> Any:
    """Tenant school-42 connected to a fresh sandbox account; failed messages retry at once."""
    result = api.put(
        "/v1/tenants/school-42/connection",
        json_body={"sevdesk_token": sevdesk_account.token, "settings": {"unit_mapping": {"h": "Std"}}},
    )
    assert result.status == 201, result.body
    make_retries_immediate(aws)
    return sevdesk_account


@pytest.fixture
def sent(aws: Any) -> Iterator[SentMessages]:
    """The transfer queue's messages, by transfer id (tests/support/sent_messages.py)."""
    with sent_messages() as recorded:
        yield recorded
