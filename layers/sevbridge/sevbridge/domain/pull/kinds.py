"""Per kind: how its rows become candidate records (mapping plus what sevDesk or the platform side adds).

A candidate says what the record is now (None: not imported, e.g. a supplier or a draft) and how to
tell sevbridge's own writes (echo) and conflicts; the runner compares it with the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Protocol

from sevbridge.domain.pull import echo
from sevbridge.domain.pull.map_articles import category_name, is_article, map_article
from sevbridge.domain.pull.map_contacts import is_customer, map_contact
from sevbridge.domain.pull.map_invoices import (
    cancellations_of,
    cancelled_invoice_id,
    in_scope,
    invoice_customer,
    is_cancellation,
    map_invoice,
    may_be_cancelled,
    needs_addresses,
    needs_ways,
)
from sevbridge.domain.pull.map_orders import is_order_confirmation, map_order
from sevbridge.domain.pull.markers_lookup import source_id_from_marker
from sevbridge.domain.pull.ports import PlatformSide, PushedContact, PushedInvoice, Row, SevdeskReader
from sevbridge.domain.pull.records import AnyRecord, ConflictInfo, Flag, ImportKind
from sevbridge.domain.pull.runs import IndexEntry
from sevbridge.domain.pull.wire import moment, ref_id, text

EchoCheck = Callable[[IndexEntry | None, str], bool]

# Rows per list request. Contacts and invoices carry embeds; parts are small and have no update filter,
# so every import reads them all (in as few requests as sevDesk allows); orders cost a request each.
PAGE_SIZES: dict[ImportKind, int] = {
    ImportKind.CONTACTS: 200,
    ImportKind.ARTICLES: 1000,
    ImportKind.ORDER_CONFIRMATIONS: 100,
    ImportKind.INVOICES: 200,
}


@dataclass
class Candidate:
    sevdesk_id: str
    update: datetime | None
    record: AnyRecord | None  # None: not (or no longer) in what is imported
    source_id: str | None = None
    flags: tuple[Flag, ...] = ()
    conflict: ConflictInfo | None = None
    # Known to the platform already (it pushed it): never reported as `created`.
    known_to_platform: bool = False
    is_echo: EchoCheck | None = None
    exists: bool = True  # False: sevDesk says the record is gone
    # Contacts: kept in the index for the invoices of this customer (InvoiceHandler).
    email: str | None = None
    phone: str | None = None


def identified(rows: Iterable[Row]) -> Iterator[tuple[str, datetime | None, Row]]:
    """(sevDesk id, `update`, row) of every row that has an id."""
    for row in rows:
        sevdesk_id = ref_id(row.get("id"))
        if sevdesk_id is not None:
            yield sevdesk_id, moment(row.get("update")), row


class PlatformLookups:
    """The platform side, loaded once per run and only when a changed record needs it."""

    def __init__(self, side: PlatformSide, *, marker_scope: str) -> None:
        self._side = side
        self.marker_scope = marker_scope

    @cached_property
    def contacts(self) -> Mapping[str, PushedContact]:
        return self._side.pushed_contacts()

    @cached_property
    def pending(self) -> Mapping[str, datetime]:
        return self._side.pending_contact_versions()

    @cached_property
    def _invoices(self) -> tuple[dict[str, PushedInvoice], dict[str, PushedInvoice], dict[str, PushedInvoice]]:
        by_id: dict[str, PushedInvoice] = {}
        by_number: dict[str, PushedInvoice] = {}
        by_source: dict[str, PushedInvoice] = {}
        for pushed in self._side.pushed_invoices():
            by_source[pushed.source_id] = pushed
            if pushed.sevdesk_id:
                by_id[pushed.sevdesk_id] = pushed
            if pushed.number:
                by_number.setdefault(pushed.number, pushed)
        return by_id, by_number, by_source

    def invoice_by_sevdesk_id(self, sevdesk_id: str) -> PushedInvoice | None:
        return self._invoices[0].get(sevdesk_id)

    def invoice_by_number(self, number: str) -> PushedInvoice | None:
        return self._invoices[1].get(number)

    def invoice_by_source_id(self, source_id: str) -> PushedInvoice | None:
        return self._invoices[2].get(source_id)

    def contact_source_id(self, sevdesk_id: str) -> str | None:
        pushed = self.contacts.get(sevdesk_id)
        return pushed.source_id if pushed else None


class KindHandler(Protocol):
    kind: ImportKind
    incremental: bool  # sevDesk filters the list by updateAfter
    cheap_unchanged: bool  # same id and `update` as last time ⇒ unchanged, without building the record

    def candidates(self, rows: list[Row]) -> list[Candidate]: ...


@dataclass
class ContactHandler:
    lookups: PlatformLookups
    kind: ImportKind = ImportKind.CONTACTS
    incremental: bool = True
    cheap_unchanged: bool = False  # addresses and numbers change without touching the contact's `update`

    def candidates(self, rows: list[Row]) -> list[Candidate]:
        found = []
        for sevdesk_id, update, row in identified(rows):
            if not is_customer(row):
                found.append(Candidate(sevdesk_id, update, None))
                continue
            pushed = self.lookups.contacts.get(sevdesk_id)
            source_id = pushed.source_id if pushed else None
            record = map_contact(row)
            found.append(
                Candidate(
                    sevdesk_id,
                    update,
                    record,
                    source_id=source_id,
                    conflict=echo.contact_conflict(self.lookups.pending.get(source_id), update) if source_id else None,
                    known_to_platform=pushed is not None,
                    is_echo=_contact_echo(pushed, update) if pushed else None,
                    email=record.emails[0] if record.emails else None,
                    phone=record.phone or (record.mobiles[0] if record.mobiles else None),
                )
            )
        for candidate in found:
            if candidate.conflict is not None:
                candidate.flags = (*candidate.flags, Flag.CONFLICT)
        return found


def _contact_echo(pushed: PushedContact, update: datetime | None) -> EchoCheck:
    return lambda entry, new_hash: echo.contact_is_echo(pushed, entry, new_hash, update)


@dataclass
class ArticleHandler:
    reader: SevdeskReader
    kind: ImportKind = ImportKind.ARTICLES
    incremental: bool = False  # /Part has no update filter (api-facts §7): every pass reads all parts
    cheap_unchanged: bool = False

    def candidates(self, rows: list[Row]) -> list[Candidate]:
        found = []
        for sevdesk_id, update, row in identified(rows):
            category = ref_id(row.get("category"))
            # The category embed was ignored: its name from /Category (cached by the reader).
            resolved = self.reader.category_name(category) if category and not category_name(row) else None
            found.append(Candidate(sevdesk_id, update, map_article(row) if is_article(row, resolved) else None))
        return found


@dataclass
class OrderHandler:
    reader: SevdeskReader
    lookups: PlatformLookups
    kind: ImportKind = ImportKind.ORDER_CONFIRMATIONS
    incremental: bool = True
    cheap_unchanged: bool = True  # positions cost a request per order: skip orders whose `update` is known

    def candidates(self, rows: list[Row]) -> list[Candidate]:
        found = []
        for sevdesk_id, update, row in identified(rows):
            if not is_order_confirmation(row):
                found.append(Candidate(sevdesk_id, update, None))
                continue
            record = map_order(
                row,
                self.reader.order_positions(sevdesk_id),
                customer_source_id_of=self.lookups.contact_source_id,
                article_source_id_of=lambda _part_id: None,  # the push does not map articles (yet)
            )
            found.append(Candidate(sevdesk_id, update, record))
        return found


ContactIndex = Callable[[list[str]], Mapping[str, IndexEntry]]


@dataclass
class InvoiceHandler:
    reader: SevdeskReader
    lookups: PlatformLookups
    # The contacts import's index: a customer's e-mail and phone without asking sevDesk (invoices do
    # not embed communication ways); customers it does not know are read from sevDesk.
    contacts: ContactIndex
    kind: ImportKind = ImportKind.INVOICES
    incremental: bool = True
    cheap_unchanged: bool = False  # a cancellation changes the original's meaning: always re-map
    _ways: dict[str, list[Row]] = field(default_factory=dict)
    _known: dict[str, IndexEntry] = field(default_factory=dict)

    def candidates(self, rows: list[Row]) -> list[Candidate]:
        cancelled_by: dict[str, str] = {}
        for row in rows:
            original = cancelled_invoice_id(row)
            sr_id = ref_id(row.get("id"))
            if original and sr_id:
                cancelled_by.setdefault(original, sr_id)
        on_page = {ref_id(row.get("id")) for row in rows}
        # A new cancellation of an invoice imported earlier: that invoice now reads cancelled.
        extra = [
            fetched
            for original in cancelled_by
            if original not in on_page and (fetched := self.reader.fetch(ImportKind.INVOICES, original)) is not None
        ]
        wanted = {ref_id(row.get("contact")) for row in [*rows, *extra] if in_scope(row)} - set(self._known)
        wanted.discard(None)
        if wanted:
            self._known.update(self.contacts(sorted(i for i in wanted if i is not None)))
        found = []
        for sevdesk_id, update, row in identified([*rows, *extra]):
            if is_cancellation(row) or not in_scope(row):
                found.append(Candidate(sevdesk_id, update, None))
                continue
            cancellation = cancelled_by.get(sevdesk_id)
            if cancellation is None and may_be_cancelled(row):
                contact = ref_id(row.get("contact"))
                ids = cancellations_of(list(self.reader.cancellations(contact)), sevdesk_id)
                cancellation = ids[0] if ids else None
            found.append(self._candidate(row, sevdesk_id, update, cancellation))
        return found

    def _candidate(self, row: Row, sevdesk_id: str, update: datetime | None, cancellation: str | None) -> Candidate:
        contact = ref_id(row.get("contact"))
        known = self._known.get(contact) if contact else None
        ways = addresses = None
        if contact and known is None and needs_ways(row):
            if contact not in self._ways:
                self._ways[contact] = self.reader.communication_ways(contact)
            ways = self._ways[contact]
        if contact and needs_addresses(row):
            addresses = self.reader.contact_addresses(contact)
        customer = invoice_customer(
            row,
            source_id=self.lookups.contact_source_id(contact) if contact else None,
            ways=ways,
            addresses=addresses,
            known=(known.email, known.phone) if known else None,
        )
        record = map_invoice(row, customer=customer, cancelled_by=cancellation)
        pushed = self.lookups.invoice_by_sevdesk_id(sevdesk_id)
        if pushed is None:
            marked = source_id_from_marker(text(row.get("customerInternalNote")), self.lookups.marker_scope)
            pushed = self.lookups.invoice_by_source_id(marked) if marked else None
            if marked and pushed is None:
                pushed = PushedInvoice(source_id=marked, sevdesk_id=sevdesk_id, number=None, status=None)
        flags: list[Flag] = []
        if customer.email is None:
            flags.append(Flag.UNASSIGNABLE)
        if pushed is None and record.number:
            other = self.lookups.invoice_by_number(record.number)
            if other is not None and other.sevdesk_id != sevdesk_id:
                flags.append(Flag.DUPLICATE_NUMBER)
        return Candidate(
            sevdesk_id,
            update,
            record,
            source_id=pushed.source_id if pushed else None,
            flags=tuple(flags),
            known_to_platform=pushed is not None,
            is_echo=(lambda _entry, _hash: echo.invoice_is_echo(pushed, record)) if pushed else None,
        )
