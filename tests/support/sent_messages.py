"""What the transfer queue was sent, as a test reads it: a live transfer's document travels in its
message (adapters/transfer_message.py), so a test that runs the transfer runner itself, as the worker
does for a message, passes the document that message carried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sevbridge.domain.ledger import TransferDocument


class SentMessages:
    def __init__(self) -> None:
        self.bodies: dict[str, dict[str, Any]] = {}

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        for entry in params.get("Entries", []):
            body = json.loads(entry["MessageBody"])
            self.bodies[body["transfer_id"]] = body

    def document(self, transfer_id: str) -> TransferDocument | None:
        """The document the transfer's last message carried (None: it carried none)."""
        doc = self.bodies[transfer_id].get("doc")
        return None if doc is None else TransferDocument.model_validate(doc)


@contextmanager
def sent_messages() -> Iterator[SentMessages]:
    """Records every SendMessageBatch of this process's SQS client (the real call still happens)."""
    sent = SentMessages()
    # On every client created meanwhile too (wiring.reset() makes new ones): botocore's class-wide hook.
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def spy(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "SendMessageBatch":
            sent(params)
        return original(client, operation, params)

    BaseClient._make_api_call = spy  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def documents_stay_in_the_ledger(monkeypatch: Any) -> None:
    """Every document is too big for its message: intake stores it on the transfer's item, as it does for
    a document over MAX_CARRIED_BYTES. For tests of what only item-backed transfers get (the stranded-work
    tick reads items)."""
    from sevbridge.adapters import transfer_message

    monkeypatch.setattr(transfer_message, "MAX_CARRIED_BYTES", 0)
