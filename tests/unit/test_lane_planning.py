"""How one tenant's batch is split into lanes (domain/lanes.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sevbridge.domain.lanes import LaneKeys, lane_keys, plan_lanes
from sevbridge.domain.ledger import Transfer, TransferKind, TransferStatus


def _invoice(doc: str, customer: str = "c1", number: str | None = None) -> LaneKeys:
    return LaneKeys(document=f"invoice#{doc}", contact=customer, number=number or f"N-{doc}")


def _contact(source_id: str) -> LaneKeys:
    return LaneKeys(document=f"contact#{source_id}", contact=source_id, writes_contact=True)


def test_different_documents_of_one_known_customer_get_their_own_lanes() -> None:
    assert plan_lanes([_invoice("a"), _invoice("b"), _invoice("c")], 3) == [[0], [1], [2]]


def test_versions_of_one_document_share_a_lane_in_order() -> None:
    assert plan_lanes([_invoice("a"), _invoice("b"), _invoice("a"), _invoice("c")], 3) == [[0, 2], [1], [3]]


def test_a_contact_event_stays_with_the_documents_of_that_contact_only() -> None:
    keys = [_invoice("a", "c1"), _contact("c1"), _invoice("b", "c2"), _invoice("c", "c1")]
    assert plan_lanes(keys, 3) == [[0, 1, 3], [2]]


def test_one_invoice_number_is_claimed_by_one_lane() -> None:
    assert plan_lanes([_invoice("a", number="R-1"), _invoice("b", number="R-1"), _invoice("c")], 3) == [[0, 1], [2]]


def test_a_message_without_keys_runs_alone_in_order_with_everything() -> None:
    assert plan_lanes([_invoice("a"), None, _invoice("b")], 3) == [[0, 1, 2]]


def test_more_components_than_lanes_are_merged_keeping_batch_order() -> None:
    keys = [_invoice(str(i)) for i in range(7)]
    lanes = plan_lanes(keys, 3)
    assert len(lanes) == 3 and sorted(i for lane in lanes for i in lane) == list(range(7))
    assert all(lane == sorted(lane) for lane in lanes)
    assert max(map(len, lanes)) - min(map(len, lanes)) <= 1
    assert plan_lanes(keys, 1) == [list(range(7))]


def test_max_lanes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plan_lanes([], 0)


def _transfer(kind: TransferKind, source_id: str, payload: dict[str, Any]) -> Transfer:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    return Transfer(
        transfer_id="tr_1",
        platform_id="p",
        tenant_id="t",
        kind=kind,
        source_id=source_id,
        event_id="e",
        event_type="x",
        status=TransferStatus.QUEUED,
        source_version=now,
        payload=payload,
        created_at=now,
        updated_at=now,
    )


def test_keys_come_from_the_transfer() -> None:
    invoice = _transfer(TransferKind.INVOICE, "i1", {"number": "R-7", "customer": {"source_id": "c9"}})
    assert lane_keys(invoice) == LaneKeys(document="invoice#i1", contact="c9", number="R-7")
    contact = _transfer(TransferKind.CONTACT, "c9", {"source_id": "c9"})
    assert lane_keys(contact) == LaneKeys(document="contact#c9", contact="c9", writes_contact=True)
    draft = _transfer(TransferKind.INVOICE_DRAFT, "p1", {"customer": {"source_id": "c9"}})
    assert lane_keys(draft) == LaneKeys(document="invoice_draft#p1", contact="c9")
