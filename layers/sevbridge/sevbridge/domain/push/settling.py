"""Writes whose outcome is unknown are settled inside the attempt (I8), not left to the next delivery.

A 5xx, a timeout or a dropped connection after a write was sent leaves sevDesk's state unknown: the
write may have been applied. The client never resends such a write blindly. SettlingSevdesk wraps the
push domain's SevdeskPort and, for each write, looks in sevDesk whether it landed: found → adopted as
if the answer had arrived; not found → sent again, after a short growing wait. Writes that are
harmless to repeat (PUTs of fields) are simply sent again, and so are reads that still fail after the
client's own retries. A document needing 5–12 requests then
completes under a few percent of faults instead of ending the attempt at the first unknown outcome.

What "landed" means per write:
- contact create → a contact with the customer number the create carried (always set, and checked
  free before the create: see contacts.py)
- custom field, address, communication way → listed among the contact's children
- custom field setting → found by name
- invoice create → found by our marker (customerInternalNote); draft rewrite → none of the positions
  it deleted is left
- sendBy → the invoice is no longer a draft; resetToDraft → it is a draft
- bookAmount → paidAmount grew by the amount since it was last read (the domain reads it right before)

A pause longer than the longest pause waited here (our brake, a Retry-After over ~1 s) or running out of time stops
at once: the transfer is handed back to the queue. If a write's outcome is still unknown then, the
error says so (`outcome_unknown`), so the next attempt reconciles before creating anything.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sevbridge.domain.push import normal
from sevbridge.domain.push.ports import (
    DRAFT,
    PAID,
    SdAddress,
    SdCategory,
    SdCheckAccount,
    SdCommWay,
    SdContact,
    SdCountry,
    SdCustomField,
    SdInvoice,
    SdUnit,
    SevdeskPort,
)
from sevbridge.domain.sevdesk_errors import SevdeskError, SevdeskOutOfTime

T = TypeVar("T")
_HALF_CENT = Decimal("0.005")


@dataclass
class Patience:
    """How long one write is chased inside an attempt: `rounds` more tries after the first, with
    growing, jittered waits, never past the time left in the invocation. A pause asked for (429's
    Retry-After, our brake) is waited out here only up to `longest_pause`: the queue waits longer ones."""

    rounds: int = 4
    first_wait: float = 0.5
    longest_wait: float = 20.0
    longest_pause: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    time_left: Callable[[], float] | None = None
    rng: random.Random = field(default_factory=random.Random)

    def wait(self, round_: int, *, at_least: float = 0.0) -> bool:
        """Wait before round `round_` (1-based); False when there is no time left for it."""
        ceiling = min(self.longest_wait, self.first_wait * 2 ** (round_ - 1))
        delay = max(at_least, ceiling / 2 + self.rng.uniform(0, ceiling / 2))
        if self.time_left is not None and self.time_left() <= delay:
            return False
        self.sleep(delay)
        return True


class SettlingSevdesk:
    """Implements SevdeskPort on top of another SevdeskPort."""

    def __init__(self, port: SevdeskPort, patience: Patience) -> None:
        self._port = port
        self._patience = patience
        # The last state read of each invoice: what a payment's outcome is compared with.
        self._invoices: dict[str, SdInvoice] = {}

    # -- the mechanism -------------------------------------------------------------------------

    def _settle(self, send: Callable[[], T], landed: Callable[[], T | None] | None) -> T:
        """Send; after an unknown outcome look with `landed` (None: the write is safe to repeat)."""
        unknown = False  # a send whose effect is still unknown
        last: SevdeskError | None = None
        for round_ in range(self._patience.rounds + 1):
            if last is not None and not self._patience.wait(round_, at_least=last.pause_seconds or 0.0):
                break
            try:
                if unknown and landed is not None:
                    found = landed()
                    if found is not None:
                        return found
                    unknown = False  # it did not land: sending again cannot duplicate it
                return send()
            except SevdeskError as exc:
                unknown = unknown or exc.outcome_unknown
                if self._stops_now(exc):
                    exc.outcome_unknown = exc.outcome_unknown or (unknown and landed is not None)
                    raise
                last = exc
        assert last is not None
        last.outcome_unknown = unknown
        raise last

    def _stops_now(self, exc: SevdeskError) -> bool:
        """Refusals, no time left, and pauses longer than we would wait here end the attempt at once."""
        pause = exc.pause_seconds
        return (
            not exc.retryable
            or isinstance(exc, SevdeskOutOfTime)
            or (pause is not None and pause > min(self._patience.longest_pause, self._patience.longest_wait))
        )

    def _read(self, call: Callable[[], T]) -> T:
        """Reads are safe to repeat: a transient failure after the client's own retries is tried again."""
        return self._settle(call, None)

    def _settle_effect(self, send: Callable[[], None], landed: Callable[[], bool]) -> None:
        def sent() -> bool:
            send()
            return True

        self._settle(sent, lambda: True if landed() else None)

    # -- reference data ------------------------------------------------------------------------

    def list_units(self, *, fresh: bool = False) -> list[SdUnit]:
        return self._read(lambda: self._port.list_units(fresh=fresh))

    def list_categories(self, object_type: str) -> list[SdCategory]:
        return self._read(lambda: self._port.list_categories(object_type))

    def find_countries(self, code: str, *, fresh: bool = False) -> list[SdCountry]:
        return self._read(lambda: self._port.find_countries(code, fresh=fresh))

    def current_user_id(self) -> str:
        return self._read(lambda: self._port.current_user_id())

    def list_check_accounts(self, *, fresh: bool = False) -> list[SdCheckAccount]:
        return self._read(lambda: self._port.list_check_accounts(fresh=fresh))

    # -- contacts ------------------------------------------------------------------------------

    def get_contact(self, contact_id: str) -> SdContact | None:
        return self._read(lambda: self._port.get_contact(contact_id))

    def find_contacts_by_customer_number(self, number: str) -> list[SdContact]:
        return self._read(lambda: self._port.find_contacts_by_customer_number(number))

    def find_email_ways(self, email: str) -> list[SdCommWay]:
        return self._read(lambda: self._port.find_email_ways(email))

    def next_customer_number(self, *, fresh: bool = False) -> str:
        return self._read(lambda: self._port.next_customer_number(fresh=fresh))

    def is_customer_number_available(self, number: str) -> bool:
        return self._read(lambda: self._port.is_customer_number_available(number))

    def create_contact(self, fields: Mapping[str, object]) -> SdContact:
        number = fields.get("customerNumber")
        if not number:
            return self._port.create_contact(fields)  # nothing to find it by: the next attempt reconciles

        def landed() -> SdContact | None:
            # The number was checked free right before the create: whoever holds it now is that create.
            holders = [
                c for c in self._port.find_contacts_by_customer_number(str(number)) if c.customer_number == number
            ]
            return min(holders, key=lambda c: (len(c.id), c.id)) if holders else None

        return self._settle(lambda: self._port.create_contact(fields), landed)

    def update_contact(self, contact_id: str, fields: Mapping[str, object]) -> None:
        self._settle(lambda: self._port.update_contact(contact_id, fields), None)

    def find_custom_field_setting(self, name: str, *, known_only: bool = False) -> str | None:
        return self._read(lambda: self._port.find_custom_field_setting(name, known_only=known_only))

    def create_custom_field_setting(self, name: str, description: str) -> str:
        return self._settle(
            lambda: self._port.create_custom_field_setting(name, description),
            lambda: self._port.find_custom_field_setting(name),
        )

    def find_contacts_by_custom_field(self, setting_id: str, setting_name: str, value: str) -> list[SdContact]:
        return self._read(lambda: self._port.find_contacts_by_custom_field(setting_id, setting_name, value))

    def list_custom_fields(self, contact_id: str) -> list[SdCustomField]:
        return self._read(lambda: self._port.list_custom_fields(contact_id))

    def create_custom_field(self, contact_id: str, setting_id: str, value: str) -> None:
        def landed() -> bool:
            return any(
                f.setting_id == setting_id and f.value == value and f.contact_id in (None, contact_id)
                for f in self._port.list_custom_fields(contact_id)
            )

        self._settle_effect(lambda: self._port.create_custom_field(contact_id, setting_id, value), landed)

    def list_addresses(self, contact_id: str) -> list[SdAddress]:
        return self._read(lambda: self._port.list_addresses(contact_id))

    def create_address(self, contact_id: str, fields: Mapping[str, object]) -> str:
        def landed() -> str | None:
            # The newest match: an identical address someone made by hand earlier is not ours to claim.
            return _newest([a.id for a in self._port.list_addresses(contact_id) if _same_address(a, fields)])

        return self._settle(lambda: self._port.create_address(contact_id, fields), landed)

    def delete_address(self, address_id: str) -> bool:
        # Safe to repeat: "already gone" counts as deleted.
        return self._settle(lambda: self._port.delete_address(address_id), None)

    def update_address(self, address_id: str, fields: Mapping[str, object]) -> None:
        self._settle(lambda: self._port.update_address(address_id, fields), None)

    def list_communication_ways(self, contact_id: str) -> list[SdCommWay]:
        return self._read(lambda: self._port.list_communication_ways(contact_id))

    def create_communication_way(self, contact_id: str, type_: str, value: str, key_id: int, main: bool) -> str:
        wanted = (normal.comm_group(type_), normal.comm_value(type_, value))

        def landed() -> str | None:
            return _newest(
                [
                    w.id
                    for w in self._port.list_communication_ways(contact_id)
                    if w.contact_id in (None, contact_id)
                    and (normal.comm_group(w.type), normal.comm_value(w.type, w.value)) == wanted
                ]
            )

        return self._settle(lambda: self._port.create_communication_way(contact_id, type_, value, key_id, main), landed)

    def delete_communication_way(self, way_id: str) -> bool:
        return self._settle(lambda: self._port.delete_communication_way(way_id), None)

    # -- invoices ------------------------------------------------------------------------------

    def get_invoice(self, invoice_id: str) -> SdInvoice | None:
        return self._read(lambda: self._look_at(invoice_id))

    def _look_at(self, invoice_id: str) -> SdInvoice | None:
        """One read of the invoice (a look-up's failure is retried by the settling loop around it)."""
        invoice = self._port.get_invoice(invoice_id)
        if invoice is not None:
            self._invoices[invoice.id] = invoice
        return invoice

    def find_invoices_by_marker(self, marker: str) -> list[SdInvoice]:
        return self._read(lambda: self._port.find_invoices_by_marker(marker))

    def find_invoices_by_number(self, number: str) -> list[SdInvoice]:
        return self._read(lambda: self._port.find_invoices_by_number(number))

    def list_invoice_position_ids(self, invoice_id: str) -> list[str]:
        return self._read(lambda: self._port.list_invoice_position_ids(invoice_id))

    def _seen(self, invoice: T) -> T:
        """An invoice as a write answered it: the state a later payment's outcome is compared with."""
        if isinstance(invoice, SdInvoice):
            self._invoices[invoice.id] = invoice
        return invoice

    def save_invoice(self, payload: Mapping[str, object]) -> SdInvoice:
        header = payload.get("invoice")
        header = header if isinstance(header, Mapping) else {}
        existing = header.get("id")
        if existing is not None:
            return self._seen(
                self._settle(lambda: self._port.save_invoice(payload), self._rewritten(str(existing), payload))
            )
        marker = header.get("customerInternalNote")
        if not marker:
            return self._seen(self._port.save_invoice(payload))  # nothing to find it by: the next attempt reconciles

        def landed() -> SdInvoice | None:
            hits = [i for i in self._port.find_invoices_by_marker(str(marker)) if i.marker == marker]
            return min(hits, key=lambda i: (len(i.id), i.id)) if hits else None

        return self._seen(self._settle(lambda: self._port.save_invoice(payload), landed))

    def _rewritten(self, invoice_id: str, payload: Mapping[str, object]) -> Callable[[], SdInvoice | None]:
        """A draft rewrite landed when none of the positions it deleted is left (a draft always has
        positions, so a rewrite always deletes some)."""
        deleted = {str(item["id"]) for item in _items(payload.get("invoicePosDelete"))}

        def landed() -> SdInvoice | None:
            if not deleted or deleted & set(self._port.list_invoice_position_ids(invoice_id)):
                return None
            return self._look_at(invoice_id)

        return landed

    def send_invoice(self, invoice_id: str) -> SdInvoice | None:
        def landed() -> SdInvoice | None:
            invoice = self._look_at(invoice_id)
            return invoice if invoice is not None and invoice.status > DRAFT else None

        sent = self._settle(lambda: self._port.send_invoice(invoice_id), landed)
        return self._seen(sent) if sent is not None and sent.id == invoice_id else sent

    def book_payment(self, invoice_id: str, *, amount: Decimal, day: date, check_account_id: str) -> int | None:
        """The status after the booking. `before` is the invoice as last read or written in this
        attempt (the domain reads it fresh before booking when an earlier attempt's outcome is unknown)."""
        before = self._invoices.get(invoice_id) or self.get_invoice(invoice_id)

        def landed() -> int | None:
            now = self._look_at(invoice_id)
            if now is None or before is None:
                return None
            booked = now.paid_amount >= before.paid_amount + amount - _HALF_CENT or (
                now.status == PAID and before.status != PAID
            )
            return now.status if booked else None

        return self._settle(
            lambda: self._port.book_payment(invoice_id, amount=amount, day=day, check_account_id=check_account_id),
            landed,
        )

    def reset_to_draft(self, invoice_id: str) -> None:
        def landed() -> bool:
            invoice = self._look_at(invoice_id)
            return invoice is not None and invoice.status == DRAFT

        self._settle_effect(lambda: self._port.reset_to_draft(invoice_id), landed)


def _items(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _ref_id(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None else str(value)


def _newest(ids: list[str]) -> str | None:
    """sevDesk ids grow with creation: the longest, then largest, is the newest."""
    return max(ids, key=lambda i: (len(i), i)) if ids else None


def _same_address(existing: SdAddress, fields: Mapping[str, object]) -> bool:
    def same(have: str | None, key: str) -> bool:
        want = fields.get(key)
        return normal.text(have) == normal.text(None if want is None else str(want))

    return (
        same(existing.street, "street")
        and same(existing.zip, "zip")
        and same(existing.city, "city")
        and ("name" not in fields or same(existing.name, "name"))
        and existing.category_id == _ref_id(fields.get("category"))
        and existing.country_id == _ref_id(fields.get("country"))
    )
