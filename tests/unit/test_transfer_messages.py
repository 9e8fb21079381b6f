"""What a transfer-queue message carries, and how messages are cut into SendMessageBatch calls (SQS takes
at most 10 entries and 256 KB per batch): adapters/transfer_message.py, adapters/sqs_transfer_queue.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sevbridge.adapters.sqs_transfer_queue import BATCH_BYTES, _batches, _body
from sevbridge.adapters.transfer_message import MAX_CARRIED_BYTES
from sevbridge.domain.ledger import Transfer, TransferDocument, TransferKind, TransferStatus

AT = datetime(2026, 11, 21, 13, tzinfo=UTC)


def transfer(n: int, padding: int = 0) -> Transfer:
    return Transfer(
        transfer_id=f"tr_{n:024x}",
        platform_id="plt_1",
        tenant_id="school-42",
        kind=TransferKind.INVOICE,
        source_id=f"inv-{n}",
        event_id=f"evt-{n}",
        event_type="invoice.upserted",
        status=TransferStatus.QUEUED,
        manual=n % 2 == 1,
        source_version=AT,
        payload={"source_id": f"inv-{n}", "notes": "x" * padding},
        created_at=AT,
        updated_at=AT,
    )


def test_a_message_carries_the_document_and_gives_it_back_unchanged() -> None:
    sent = transfer(1)
    body = json.loads(_body(sent))
    assert body["transfer_id"] == sent.transfer_id
    carried = TransferDocument.model_validate(body["doc"])
    assert carried == TransferDocument.of(sent)
    assert carried.transfer(sent.transfer_id, "plt_1", "school-42", {"status": "queued", "updated_at": AT}) == (
        sent.model_copy(update={"history": []})
    )


def test_a_document_over_the_cap_is_not_carried() -> None:
    body = json.loads(_body(transfer(2, padding=MAX_CARRIED_BYTES)))
    assert "doc" not in body and body["transfer_id"] == transfer(2).transfer_id


def test_batches_are_cut_by_count_and_by_size_in_order() -> None:
    small = [transfer(n) for n in range(23)]
    assert [len(b) for b in _batches(small)] == [10, 10, 3]
    big = [transfer(n, padding=90_000) for n in range(5)]  # ~90 KB each: two fit in 250 KB
    batches = _batches(big)
    assert [len(b) for b in batches] == [2, 2, 1]
    assert all(sum(len(body.encode()) for _, body in b) <= BATCH_BYTES for b in batches)
    assert [t.transfer_id for b in batches for t, _ in b] == [t.transfer_id for t in big]
