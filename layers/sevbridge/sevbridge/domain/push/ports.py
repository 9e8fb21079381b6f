"""What the push domain needs from sevDesk and from storage, as Protocols plus plain records.

The sevDesk port speaks in sevDesk's own field names for writes (the push domain exists to produce
exactly those documents) but returns normalised records on reads: ids and numbers as strings,
statuses as ints, money as Decimal. Whatever sevDesk's wire quirks are, they stay in the adapter.
Filters may be loose in sevDesk (ignored or prefix matches), so the domain re-checks every value
the port returns; the port only promises "at least the matching rows".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

# sevDesk invoice statuses, where the port's users have always found them.
from sevbridge.domain.push.statuses import DRAFT as DRAFT
from sevbridge.domain.push.statuses import OPEN as OPEN
from sevbridge.domain.push.statuses import PAID as PAID
from sevbridge.domain.push.statuses import PARTIALLY_PAID as PARTIALLY_PAID

MappingKind = Literal["contact", "invoice", "project"]


@dataclass(frozen=True)
class SdContact:
    id: str
    # Managed fields by sevDesk name (name, surename, familyname, titel, vatNumber, description,
    # customerNumber), as strings; None when empty.
    values: Mapping[str, str | None]

    @property
    def customer_number(self) -> str | None:
        return self.values.get("customerNumber")


@dataclass(frozen=True)
class SdAddress:
    id: str
    category_id: str | None
    street: str | None
    zip: str | None
    city: str | None
    country_id: str | None
    name: str | None


@dataclass(frozen=True)
class SdCommWay:
    id: str
    contact_id: str | None
    type: str  # EMAIL | PHONE | MOBILE | WEB | FAX
    value: str
    main: bool


@dataclass(frozen=True)
class SdCustomField:
    id: str
    contact_id: str | None
    setting_id: str | None
    value: str | None


@dataclass(frozen=True)
class SdInvoice:
    id: str
    number: str | None
    status: int
    marker: str | None  # customerInternalNote
    contact_id: str | None
    sum_gross: Decimal
    paid_amount: Decimal
    invoice_type: str = "RE"  # "SR": a cancellation document (invoice_state.py)
    origin_invoice_id: str | None = None  # `origin` when it is an invoice: what an SR cancels
    enshrined: bool = False  # locked in sevDesk: can only be cancelled, never changed


@dataclass(frozen=True)
class SdUnit:
    id: str
    name: str
    translation_code: str | None
    unece_code: str | None


@dataclass(frozen=True)
class SdCategory:
    id: str
    name: str | None
    translation_code: str | None


@dataclass(frozen=True)
class SdCountry:
    id: str
    code: str
    name_en: str | None


@dataclass(frozen=True)
class SdCheckAccount:
    id: str
    type: str | None  # "offline" (cash register) | "online" (bank)
    status: int | None


class SevdeskPort(Protocol):
    """sevDesk as the push domain sees it. Errors are sevbridge.domain.sevdesk_errors.*"""

    # reference data: the adapter may answer these from a short-lived per-tenant cache; `fresh=True`
    # asks for data read from sevDesk during this transfer (used before refusing for a missing unit,
    # country or check account, so a fix made in sevDesk a minute ago is seen)
    def list_units(self, *, fresh: bool = False) -> list[SdUnit]: ...
    def list_categories(self, object_type: str) -> list[SdCategory]: ...
    def find_countries(self, code: str, *, fresh: bool = False) -> list[SdCountry]: ...
    def current_user_id(self) -> str: ...
    def list_check_accounts(self, *, fresh: bool = False) -> list[SdCheckAccount]: ...

    # contacts
    def get_contact(self, contact_id: str) -> SdContact | None: ...
    def find_contacts_by_customer_number(self, number: str) -> list[SdContact]: ...
    def find_email_ways(self, email: str) -> list[SdCommWay]: ...
    def next_customer_number(self, *, fresh: bool = False) -> str:
        """A customer number for a new contact, to be checked free before use. The adapter may answer
        from its per-tenant cache (the number after the last one it created); `fresh=True` asks sevDesk."""
        ...

    def is_customer_number_available(self, number: str) -> bool: ...
    def create_contact(self, fields: Mapping[str, object]) -> SdContact: ...
    def update_contact(self, contact_id: str, fields: Mapping[str, object]) -> None: ...
    def find_custom_field_setting(self, name: str, *, known_only: bool = False) -> str | None:
        """Our setting's id, None if there is none; `known_only`: from what this process already knows
        (another transfer of the tenant created it meanwhile), without asking sevDesk."""
        ...

    def create_custom_field_setting(self, name: str, description: str) -> str: ...
    def find_contacts_by_custom_field(self, setting_id: str, setting_name: str, value: str) -> list[SdContact]: ...
    def list_custom_fields(self, contact_id: str) -> list[SdCustomField]: ...
    def create_custom_field(self, contact_id: str, setting_id: str, value: str) -> None: ...
    def list_addresses(self, contact_id: str) -> list[SdAddress]: ...
    def create_address(self, contact_id: str, fields: Mapping[str, object]) -> str:
        """The new address's id."""
        ...

    def update_address(self, address_id: str, fields: Mapping[str, object]) -> None: ...
    def delete_address(self, address_id: str) -> bool:
        """True when it is gone (also when it already was); False when sevDesk refuses (409, in use)."""
        ...

    def list_communication_ways(self, contact_id: str) -> list[SdCommWay]: ...
    def create_communication_way(self, contact_id: str, type_: str, value: str, key_id: int, main: bool) -> str:
        """The new communication way's id."""
        ...

    def delete_communication_way(self, way_id: str) -> bool:
        """True when it is gone (also when it already was); False when sevDesk refuses (409, in use)."""
        ...

    # invoices
    def get_invoice(self, invoice_id: str) -> SdInvoice | None: ...
    def find_invoices_by_marker(self, marker: str) -> list[SdInvoice]: ...
    def find_invoices_by_number(self, number: str) -> list[SdInvoice]: ...
    def list_invoice_position_ids(self, invoice_id: str) -> list[str]: ...
    def save_invoice(self, payload: Mapping[str, object]) -> SdInvoice: ...
    def send_invoice(self, invoice_id: str) -> SdInvoice | None:
        """Marks the invoice sent. Returns it as sevDesk answered, if the answer was this invoice
        (None: read it back)."""
        ...

    def book_payment(self, invoice_id: str, *, amount: Decimal, day: date, check_account_id: str) -> int | None:
        """Not idempotent: the adapter must never resend it after an unknown outcome. Returns the
        invoice's status after the booking as sevDesk's answer states it (None: read it back)."""
        ...

    def reset_to_draft(self, invoice_id: str) -> None: ...


@dataclass(frozen=True)
class MappingRow:
    """Our memory of one pushed document: source id → sevDesk id, plus how far the push got.

    Written after every step so that a retry continues where the last attempt stopped.
    """

    kind: MappingKind
    source_id: str
    # None: a create was about to be sent (outcome unknown if a retry sees it), unless `seen_only`.
    sevdesk_id: str | None = None
    version: datetime | None = None  # the newest source version applied
    # Invoice number / customer number in sevDesk; for a contact create in flight (sevdesk_id None)
    # the customer number it was sent with, which is how a retry finds it.
    number: str | None = None
    status: int | None = None  # invoices: the sevDesk status reached
    # Invoices: document content last written to sevDesk. Contacts: contact content last fully
    # applied (fields, addresses, communication ways); None when unknown or only partly applied.
    content_hash: str | None = None
    address_hash: str | None = None  # invoices: customer name + billing address last written
    contact_sevdesk_id: str | None = None  # invoices: the customer in sevDesk
    complete: bool = True  # contacts: False until addresses etc. were written after a create
    # Documents: the newest source version received but deliberately not applied (a draft, automatic
    # transfer off). An automatic event older than it is stale, as if that version had been applied.
    seen_version: datetime | None = None
    # True for a row written only to remember `seen_version`: nothing was ever sent to sevDesk for this
    # document and no create is in flight. Any row written by a create or an adoption has False.
    seen_only: bool = False
    # Contacts: ids of the addresses and communication ways sevbridge created on the sevDesk contact,
    # the only ones it ever removes (owned.py). None: not recorded (rows written before this existed).
    owned_addresses: tuple[str, ...] | None = None
    owned_ways: tuple[str, ...] | None = None
    # Contacts (M7): the contact as the import would map it from what sevbridge wrote, and when it
    # wrote last; the import does not report sevbridge's own writes back (domain/pull/echo.py).
    echo_hash: str | None = None
    echo_at: datetime | None = None

    @property
    def create_in_flight(self) -> bool:
        """A create was about to be sent when the row was written: it may have reached sevDesk."""
        return self.sevdesk_id is None and not self.seen_only


class MappingStore(Protocol):
    def get(self, platform_id: str, tenant_id: str, kind: MappingKind, source_id: str) -> MappingRow | None: ...
    def put(self, platform_id: str, tenant_id: str, row: MappingRow) -> None: ...
    def forget(self, platform_id: str, tenant_id: str, row: MappingRow) -> None:
        """Removes `row`, if it is still the document's row and nothing else is stored with it (used when
        the tenant was offboarded while a push ran)."""
        ...

    def marking_setting(self, platform_id: str, tenant_id: str) -> str | None:
        """The contact custom-field setting this tenant's connection created in sevDesk, if it did. Then
        no contact carried our marker before, and every contact marked since has a mapping row: a
        contact without a row is not in sevDesk, and the search by marker can be skipped. Erased with
        the tenant's other rows on offboarding (C5), when the proof no longer holds."""
        ...

    def record_marking_setting(self, platform_id: str, tenant_id: str, setting_id: str) -> None: ...
    def forget_marking_setting(self, platform_id: str, tenant_id: str, setting_id: str) -> None:
        """Removes the record, if it still names `setting_id` (the tenant was offboarded meanwhile)."""
        ...
