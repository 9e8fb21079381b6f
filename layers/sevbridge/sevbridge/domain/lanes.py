"""Lanes: which of one tenant's transfers in a batch may run side by side.

SQS FIFO hands the transfer worker a tenant's messages in order, up to 10 at a time, and only one batch
of a tenant is in flight anywhere. Run one after the other, a sent invoice of a known customer takes
three sevDesk round trips plus our own work; side by side, our work overlaps another transfer's wait.
Order still matters where two transfers touch the same thing, so two messages *conflict* — and stay in
one lane, in batch order — when

- they are the same document (kind + source id): its versions apply in order;
- one is a contact event and the other is that contact or a document whose customer it is: the
  contact is written before (or after) the document that resolves it, as the platform sent them;
- they carry the same invoice number: the "is this number taken" look-up and the create of one must
  not interleave with the other's (I8: a taken number is reported, never silently duplicated);
- either's keys are unknown (a message from before lanes existed): it conflicts with everything.

Conflicts are transitive (connected messages share a lane). Two invoices of the same customer do not
conflict: the customer is resolved under a per-contact lock (domain/push/contacts.py), so a contact
that is new or changed is created/updated once, and a known unchanged one costs neither a call nor a
wait. More lanes than `max_lanes` are merged (each keeps its order; the merged lane runs in batch order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sevbridge.common.model import Model
from sevbridge.domain.ledger import Transfer, TransferKind


class LaneKeys(Model):
    """What a transfer message says about the things it touches (sent with the message, no read needed)."""

    document: str  # "<kind>#<source id>"
    contact: str | None = None  # the contact's source id: itself (contact event) or the customer
    writes_contact: bool = False  # a contact event: it writes the contact others only resolve
    number: str | None = None  # the invoice number the document claims


def lane_keys(transfer: Transfer) -> LaneKeys:
    payload: Mapping[str, Any] = transfer.payload
    if transfer.kind is TransferKind.CONTACT:
        return LaneKeys(
            document=f"{transfer.kind.value}#{transfer.source_id}", contact=transfer.source_id, writes_contact=True
        )
    customer = payload.get("customer")
    contact = customer.get("source_id") if isinstance(customer, Mapping) else None
    number = payload.get("number")
    return LaneKeys(
        document=f"{transfer.kind.value}#{transfer.source_id}",
        contact=str(contact) if contact is not None else None,
        number=str(number) if number else None,
    )


def conflicts(a: LaneKeys | None, b: LaneKeys | None) -> bool:
    if a is None or b is None:
        return True
    if a.document == b.document:
        return True
    if a.number is not None and a.number == b.number:
        return True
    # A document without a known customer might resolve any contact: keep it behind contact events.
    if a.writes_contact and (b.contact is None or b.contact == a.contact):
        return True
    return b.writes_contact and (a.contact is None or a.contact == b.contact)


def plan_lanes(keys: Sequence[LaneKeys | None], max_lanes: int) -> list[list[int]]:
    """Indexes of `keys` (one tenant's messages in batch order) grouped into at most `max_lanes` lanes,
    each in batch order; lanes are listed by their first message."""
    if max_lanes < 1:
        raise ValueError("max_lanes must be >= 1")
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(keys)):
        for j in range(i):
            if conflicts(keys[i], keys[j]):
                parent[root(i)] = root(j)
    components: dict[int, list[int]] = {}
    for i in range(len(keys)):
        components.setdefault(root(i), []).append(i)
    # Largest first onto the lane with the fewest messages: balances the lanes' lengths.
    lanes: list[list[int]] = [[] for _ in range(min(max_lanes, len(components)))]
    for component in sorted(components.values(), key=lambda c: (-len(c), c[0])):
        min(lanes, key=len).extend(component)
    ordered = [sorted(lane) for lane in lanes if lane]
    return sorted(ordered, key=lambda lane: lane[0])
