"""What sevbridge itself created on a sevDesk contact: the only addresses and communication ways it
ever removes (issue 6 §3, policy `update`).

When the platform drops an e-mail, phone, mobile, website or delivery address, the one sevbridge
created for it is deleted in sevDesk; what someone added in sevDesk by hand stays, even with the same
value. Delivery addresses someone added by hand are not rewritten either: only ours are. The billing
address is the contact's one invoice address: it is kept up to date in place and never removed.

The record is a set of sevDesk ids per contact, kept in the contact's mapping row. It is None for rows
written before sevbridge kept it: then nothing is removed, outdated delivery addresses are rewritten as
they always were, and what matches the platform's data after that sync is recorded as ours. A contact
whose create was interrupted (our own, brand new) claims everything found on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sevbridge.domain.push.ports import MappingRow


@dataclass
class OwnedParts:
    addresses: set[str] | None = field(default_factory=set)
    ways: set[str] | None = field(default_factory=set)
    claim_existing: bool = False  # our own interrupted create: whatever is on the contact is ours

    @classmethod
    def of_row(cls, row: MappingRow) -> OwnedParts:
        return cls(
            addresses=None if row.owned_addresses is None else set(row.owned_addresses),
            ways=None if row.owned_ways is None else set(row.owned_ways),
        )

    @classmethod
    def for_contact(cls, row: MappingRow | None, contact_id: str, *, unfinished: bool) -> OwnedParts:
        """The record for the sevDesk contact `contact_id`: the row's, if the row describes it; for a
        contact sevbridge did not create or link before, nothing is ours."""
        if unfinished:
            return cls(claim_existing=True)
        if row is not None and row.sevdesk_id == contact_id:
            return cls.of_row(row)
        return cls()

    # addresses ---------------------------------------------------------------------------------
    def claim_addresses(self, ids: Iterable[str]) -> None:
        if self.claim_existing:
            self.addresses = {*(self.addresses or ()), *ids}

    def owns_address(self, address_id: str) -> bool:
        return self.addresses is not None and address_id in self.addresses

    def may_rewrite_address(self, address_id: str) -> bool:
        """Unknown record: any outdated address of the kind (the behaviour before the record existed)."""
        return self.addresses is None or address_id in self.addresses

    def created_address(self, address_id: str) -> None:
        if self.addresses is not None:
            self.addresses.add(address_id)

    def forget_address(self, address_id: str) -> None:
        if self.addresses is not None:
            self.addresses.discard(address_id)

    def settle_addresses(self, matching: Iterable[str]) -> None:
        """Start the record of a contact that had none: what now equals the platform's data."""
        if self.addresses is None:
            self.addresses = set(matching)

    # communication ways ------------------------------------------------------------------------
    def claim_ways(self, ids: Iterable[str]) -> None:
        if self.claim_existing:
            self.ways = {*(self.ways or ()), *ids}

    def owns_way(self, way_id: str) -> bool:
        return self.ways is not None and way_id in self.ways

    def created_way(self, way_id: str) -> None:
        if self.ways is not None:
            self.ways.add(way_id)

    def forget_way(self, way_id: str) -> None:
        if self.ways is not None:
            self.ways.discard(way_id)

    def settle_ways(self, matching: Iterable[str]) -> None:
        if self.ways is None:
            self.ways = set(matching)

    # the mapping row ---------------------------------------------------------------------------
    def recorded(self, row: MappingRow) -> MappingRow:
        """`row` with this record in it (ids oldest first, so the row is stable across syncs)."""

        def ordered(ids: set[str] | None) -> tuple[str, ...] | None:
            return None if ids is None else tuple(sorted(ids, key=lambda i: (len(i), i)))

        return replace(row, owned_addresses=ordered(self.addresses), owned_ways=ordered(self.ways))
