"""What a transfer-queue message carries: the transfer's document, so that a live transfer on the happy
path needs no transfer item (docs/ledger.md, "Items").

The queue (adapters/sqs_transfer_queue.py) and the ledger (adapters/dynamo_ledger.py) decide with the
same rule: a document whose JSON exceeds MAX_CARRIED_BYTES does not travel in its message (SQS takes at
most 256 KB per message and per batch); the ledger stores it on the transfer's own item instead, and
the worker reads it from there.
"""

from __future__ import annotations

import json
from typing import Any

from sevbridge.domain.ledger import Transfer, TransferDocument

# Below SQS's 256 KB per message, with room for the message's other fields.
MAX_CARRIED_BYTES = 200_000


def carried(transfer: Transfer) -> dict[str, Any] | None:
    """The document as the message carries it (compact JSON values); None when it is too big to."""
    document = TransferDocument.of(transfer).model_dump(mode="json", exclude_defaults=True)
    size = len(json.dumps(document, separators=(",", ":")).encode())
    return document if size <= MAX_CARRIED_BYTES else None


def carries(transfer: Transfer) -> bool:
    return carried(transfer) is not None
