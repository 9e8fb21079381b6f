"""Event types a platform can be notified of, and the JSON each one carries (docs/webhooks.md; the
OpenAPI document's `webhooks` section is generated from these models).

Every delivery body is `{"id", "type", "timestamp", "tenant_id", "data"}` (the Standard Webhooks payload
structure plus our ids): `id` equals the `webhook-id` header and stays the same on retries and replays,
`timestamp` is when the event happened (not when it was sent).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from sevbridge.common.model import Model


class NotificationType(StrEnum):
    TRANSFER_SUCCEEDED = "transfer.succeeded"
    TRANSFER_FAILED = "transfer.failed"
    CONNECTION_RECONNECT_REQUIRED = "connection.reconnect_required"
    CONNECTION_RESTORED = "connection.restored"
    IMPORT_COMPLETED = "import.completed"
    IMPORT_FAILED = "import.failed"
    CHANGES_AVAILABLE = "changes.available"
    BACKFILL_COMPLETED = "backfill.completed"
    ENDPOINT_DISABLED = "webhook.endpoint_disabled"
    TEST = "webhook.test"


# About one tenant; a tenant's URL override receives all of these.
TENANT_TYPES = frozenset(
    {
        NotificationType.TRANSFER_SUCCEEDED,
        NotificationType.TRANSFER_FAILED,
        NotificationType.CONNECTION_RECONNECT_REQUIRED,
        NotificationType.CONNECTION_RESTORED,
        NotificationType.IMPORT_COMPLETED,
        NotificationType.IMPORT_FAILED,
        NotificationType.CHANGES_AVAILABLE,
        NotificationType.BACKFILL_COMPLETED,
    }
)
# What an endpoint may subscribe to; test events are sent on request to the endpoint asked for.
SUBSCRIBABLE_TYPES = frozenset(set(NotificationType) - {NotificationType.TEST})


class EventData(Model):
    model_config = ConfigDict(frozen=True)


# --- transfers ------------------------------------------------------------------------------------
class _TransferData(EventData):
    transfer_id: str = Field(description="Ledger id: `GET /v1/tenants/{tenant_id}/transfers/{transfer_id}`")
    kind: str = Field(description="contact · invoice · invoice_draft")
    source_id: str = Field(description="Your id of the document")
    event_id: str = Field(description="Id of the event you sent that caused the transfer")
    event_type: str
    attempts: int


class TransferSucceeded(_TransferData):
    status: Literal["transferred"] = "transferred"
    sevdesk_id: str | None = Field(default=None, description="The document's id in sevDesk")
    sevdesk_number: str | None = Field(default=None, description="Invoice number in sevDesk, if any")
    reason: str | None = Field(default=None, description="What was done, for people")


class TransferFailed(_TransferData):
    status: Literal["failed"] = "failed"
    reason: str = Field(description="Why, for people: sevDesk's message or ours; never a secret")
    retryable: bool = Field(
        description="true: a temporary problem (sevDesk unreachable, rate limits) outlasted the retries; "
        "`POST …/transfers/{transfer_id}/retry` as it is may succeed. false: sevDesk or sevbridge refused "
        "the document; fix what `reason` names first (your data, or the setup in sevDesk), then retry."
    )


# --- connections (C3) -----------------------------------------------------------------------------
class ConnectionReconnectRequired(EventData):
    status: Literal["reconnect_required"] = "reconnect_required"
    token_fingerprint: str = Field(description="Last 4 characters of the token that stopped working")
    token_version: int
    reason: str
    since: datetime = Field(description="When sevDesk first rejected the token")
    action: str = Field(
        default="Ask the user for the current sevDesk API token and store it with "
        "PUT /v1/tenants/{tenant_id}/connection; parked transfers then resume by themselves."
    )


class ConnectionRestored(EventData):
    status: Literal["connected"] = "connected"
    token_fingerprint: str
    token_version: int
    restored_by: Literal["new_token", "successful_test"]
    reconnect_required_since: datetime | None = None


# --- imports (M5) ---------------------------------------------------------------------------------
class ImportKindCounts(EventData):
    read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    flagged: int = 0


class ImportCompleted(EventData):
    import_id: str
    full: bool = Field(default=False, description="A full reconciliation rather than an incremental import")
    started_at: datetime
    finished_at: datetime
    kinds: dict[str, ImportKindCounts] = Field(description="Counts per resource kind")
    changes: int = Field(description="Changes written to the feed by this import")


class ImportFailed(EventData):
    import_id: str | None = None
    cause: str = Field(description="Stable code of the problem, e.g. `invalid_token`, `sevdesk_unavailable`")
    message: str
    retryable: bool = Field(description="true: imports go on by themselves once the cause is gone")
    next_notice_after: datetime = Field(
        description="This cause is not reported again for this tenant before this time (at most once per 24 h)"
    )


class ChangesAvailable(EventData):
    cursor: str = Field(description="Read the new changes with GET /v1/tenants/{tenant_id}/changes?after=<cursor>")
    count: int
    kinds: dict[str, int] = Field(default_factory=dict)


# --- backfills (B1-B3) ----------------------------------------------------------------------------
class BackfillCompleted(EventData):
    backfill_id: str
    direction: Literal["push", "pull"]
    status: Literal["completed", "completed_with_failures", "cancelled"]
    total: int
    succeeded: int
    failed: int
    skipped: int = 0
    started_at: datetime
    finished_at: datetime


# --- about webhooks themselves ----------------------------------------------------------------------
class EndpointDisabled(EventData):
    endpoint_id: str
    url: str
    reason: str
    failing_since: datetime
    disabled_at: datetime
    action: str = Field(
        default='Fix the receiver, then PATCH /v1/webhooks/endpoints/{endpoint_id} with {"enabled": true} '
        "and replay what failed: POST /v1/webhooks/deliveries/replay."
    )


class WebhookTest(EventData):
    endpoint_id: str
    message: str = "Test event from sevbridge: your endpoint receives and verifies webhooks."


DATA_MODEL: dict[NotificationType, type[EventData]] = {
    NotificationType.TRANSFER_SUCCEEDED: TransferSucceeded,
    NotificationType.TRANSFER_FAILED: TransferFailed,
    NotificationType.CONNECTION_RECONNECT_REQUIRED: ConnectionReconnectRequired,
    NotificationType.CONNECTION_RESTORED: ConnectionRestored,
    NotificationType.IMPORT_COMPLETED: ImportCompleted,
    NotificationType.IMPORT_FAILED: ImportFailed,
    NotificationType.CHANGES_AVAILABLE: ChangesAvailable,
    NotificationType.BACKFILL_COMPLETED: BackfillCompleted,
    NotificationType.ENDPOINT_DISABLED: EndpointDisabled,
    NotificationType.TEST: WebhookTest,
}

DESCRIPTION: dict[NotificationType, str] = {
    NotificationType.TRANSFER_SUCCEEDED: "A document reached sevDesk (created or brought up to date).",
    NotificationType.TRANSFER_FAILED: "A transfer failed; `retryable` says whether a retry as it is may help.",
    NotificationType.CONNECTION_RECONNECT_REQUIRED: "sevDesk rejected the tenant's token (a new one is issued "
    "whenever the user is saved in sevDesk). Sent once per incident, however many transfers hit it; the "
    "tenant's work is parked until a new token is stored.",
    NotificationType.CONNECTION_RESTORED: "The tenant's connection works again (new token stored, or a test "
    "succeeded); parked work resumes.",
    NotificationType.IMPORT_COMPLETED: "An import from sevDesk finished with changes (or always, if the tenant's "
    "setting `webhook_unchanged_imports` is on).",
    NotificationType.IMPORT_FAILED: "Imports fail for this tenant; at most once per 24 h per cause.",
    NotificationType.CHANGES_AVAILABLE: "New records from sevDesk are in the change feed, from `cursor` on.",
    NotificationType.BACKFILL_COMPLETED: "A backfill (bulk push or pull) finished.",
    NotificationType.ENDPOINT_DISABLED: "One of your endpoints (or a tenant's URL override) failed for days and "
    "was disabled; sent to your other endpoints.",
    NotificationType.TEST: "Sent on request by POST /v1/webhooks/endpoints/{endpoint_id}/test.",
}


class _Message(Model):
    id: str = Field(description="Message id, equal to the `webhook-id` header: deduplicate by it")
    timestamp: datetime = Field(description="When the event happened (UTC)")
    tenant_id: str | None = Field(description="The tenant it is about; null for events about your endpoints")


class TransferSucceededMessage(_Message):
    type: Literal["transfer.succeeded"]
    data: TransferSucceeded


class TransferFailedMessage(_Message):
    type: Literal["transfer.failed"]
    data: TransferFailed


class ConnectionReconnectRequiredMessage(_Message):
    type: Literal["connection.reconnect_required"]
    data: ConnectionReconnectRequired


class ConnectionRestoredMessage(_Message):
    type: Literal["connection.restored"]
    data: ConnectionRestored


class ImportCompletedMessage(_Message):
    type: Literal["import.completed"]
    data: ImportCompleted


class ImportFailedMessage(_Message):
    type: Literal["import.failed"]
    data: ImportFailed


class ChangesAvailableMessage(_Message):
    type: Literal["changes.available"]
    data: ChangesAvailable


class BackfillCompletedMessage(_Message):
    type: Literal["backfill.completed"]
    data: BackfillCompleted


class EndpointDisabledMessage(_Message):
    type: Literal["webhook.endpoint_disabled"]
    data: EndpointDisabled


class WebhookTestMessage(_Message):
    type: Literal["webhook.test"]
    data: WebhookTest


MESSAGE_MODEL: dict[NotificationType, type[_Message]] = {
    NotificationType.TRANSFER_SUCCEEDED: TransferSucceededMessage,
    NotificationType.TRANSFER_FAILED: TransferFailedMessage,
    NotificationType.CONNECTION_RECONNECT_REQUIRED: ConnectionReconnectRequiredMessage,
    NotificationType.CONNECTION_RESTORED: ConnectionRestoredMessage,
    NotificationType.IMPORT_COMPLETED: ImportCompletedMessage,
    NotificationType.IMPORT_FAILED: ImportFailedMessage,
    NotificationType.CHANGES_AVAILABLE: ChangesAvailableMessage,
    NotificationType.BACKFILL_COMPLETED: BackfillCompletedMessage,
    NotificationType.ENDPOINT_DISABLED: EndpointDisabledMessage,
    NotificationType.TEST: WebhookTestMessage,
}


def message_body(
    message_id: str, type_: NotificationType, occurred_at: datetime, tenant_id: str | None, data: EventData
) -> str:
    """The exact JSON sent (and signed) on every attempt of every delivery of this notification."""
    expected = DATA_MODEL[type_]
    if not isinstance(data, expected):
        raise TypeError(f"{type_.value} carries {expected.__name__}, not {type(data).__name__}")
    model = MESSAGE_MODEL[type_]
    message = model.model_validate(
        {"id": message_id, "type": type_.value, "timestamp": occurred_at, "tenant_id": tenant_id, "data": data}
    )
    return message.model_dump_json()
