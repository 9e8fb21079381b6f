"""What the change feed carries: the records mapped from sevDesk (M1–M4) and the changes around them.

Records use the platform's vocabulary, not sevDesk's; every record names its sevDesk id, and the
platform's own id (`source_id`) wherever sevbridge knows it (objects the platform pushed). Money is a
Decimal (a string in JSON), dates are calendar dates, times carry their offset.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sevbridge.common.model import Model
from sevbridge.domain.settings import ImportKind

__all__ = ["ImportKind"]

# How long a change stays readable in the feed (DynamoDB TTL); a cursor older than that gets 410.
CHANGE_RETENTION = timedelta(days=30)


class Action(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class Flag(StrEnum):
    UNASSIGNABLE = "unassignable"  # invoice whose customer has no e-mail (M4)
    DUPLICATE_NUMBER = "duplicate_number"  # invoice number sevbridge pushed for another platform document
    CONFLICT = "conflict"  # both sides changed since the last sync (M7); see `conflict`
    OUT_OF_SCOPE = "out_of_scope"  # deleted: still in sevDesk, but no longer matches what is imported


class _Record(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AddressRecord(_Record):
    name: str | None = Field(default=None, description="Recipient line, when the address has one")
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2, e.g. DE")


class ContactRecord(_Record):
    """M1: a customer (sevDesk category "Kunde"), person or organisation."""

    record_type: Literal["contact"] = "contact"
    kind: Literal["person", "organisation"]
    organisation_name: str | None = None
    title: str | None = Field(default=None, description="sevDesk `titel`, e.g. 'Herr'")
    academic_title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name_suffix: str | None = Field(default=None, description="sevDesk `name2` (Namenszusatz)")
    customer_number: str | None = None
    description: str | None = None
    vat_id: str | None = None
    parent_sevdesk_id: str | None = Field(default=None, description="The organisation a person belongs to")
    billing_address: AddressRecord | None = Field(
        default=None, description="Exactly one: the invoice address (the main one, else the first)"
    )
    delivery_addresses: list[AddressRecord] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list, max_length=2, description="At most two, main first")
    mobiles: list[str] = Field(default_factory=list, max_length=2, description="At most two, main first")
    phone: str | None = Field(default=None, description="One phone number, the main one first")


class UnitRecord(_Record):
    name: str | None = None
    sevdesk_id: str | None = None


class ArticleRecord(_Record):
    """M2: a part of category "Artikel"."""

    record_type: Literal["article"] = "article"
    name: str | None = None
    number: str | None = Field(default=None, description="sevDesk `partNumber`")
    unit: UnitRecord | None = None
    net_price: Decimal | None = None
    gross_price: Decimal | None = None
    tax_rate: Decimal | None = Field(default=None, description="VAT rate in percent")
    description: str | None = None
    active: bool = True


class CustomerRef(_Record):
    sevdesk_id: str | None = None
    source_id: str | None = Field(default=None, description="The platform's id, when the platform pushed it")
    name: str | None = None
    customer_number: str | None = None


class ArticleRef(_Record):
    sevdesk_id: str | None = None
    source_id: str | None = None
    number: str | None = None


class OrderPosition(_Record):
    name: str | None = None
    text: str | None = None
    quantity: Decimal | None = None
    unit: UnitRecord | None = None
    unit_price: Decimal | None = Field(default=None, description="Net price per unit")
    tax_rate: Decimal | None = None
    discount: Decimal | None = None
    optional: bool = False
    article: ArticleRef | None = None


OrderStatus = Literal["sent", "accepted", "partially_invoiced", "invoiced", "rejected", "other"]


class OrderConfirmationRecord(_Record):
    """M3: an order confirmation (orderType AB) once it was sent."""

    record_type: Literal["order_confirmation"] = "order_confirmation"
    number: str | None = None
    order_date: date | None = None
    status: OrderStatus
    sevdesk_status: int | None = None
    header: str | None = None
    customer: CustomerRef | None = None
    address: str | None = Field(default=None, description="The address block as printed")
    currency: str | None = None
    net_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    gross_amount: Decimal | None = None
    positions: list[OrderPosition] = Field(default_factory=list)


class InvoiceCustomer(_Record):
    sevdesk_id: str | None = None
    source_id: str | None = None
    email: str | None = None
    company: str | None = None
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    country: str | None = None
    phone: str | None = None


InvoiceStatusName = Literal["open", "paid", "cancelled"]


class InvoiceRecord(_Record):
    """M4: an invoice (not a draft, not a cancellation document)."""

    record_type: Literal["invoice"] = "invoice"
    number: str | None = None
    invoice_date: date | None = None
    invoice_type: str | None = Field(default=None, description="RE regular, AR advance, TR partial, ER final")
    status: InvoiceStatusName = Field(
        description="open (also partially paid), paid, or cancelled (a cancellation document exists)"
    )
    sevdesk_status: int | None = None
    net_amount: Decimal | None = None
    gross_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    currency: str | None = None
    time_to_pay_days: int | None = None
    cancelled_by_sevdesk_id: str | None = Field(default=None, description="The cancellation document (SR)")
    customer: InvoiceCustomer


AnyRecord = Annotated[
    ContactRecord | ArticleRecord | OrderConfirmationRecord | InvoiceRecord,
    Field(discriminator="record_type"),
]


def record_hash(record: BaseModel) -> str:
    """Content fingerprint of a mapped record: equal records hash equal (JSON of a frozen model is stable)."""
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()[:32]


class ConflictInfo(_Record):
    """Both sides changed since the last sync (M7): the newer one wins."""

    sevdesk_updated_at: datetime
    platform_updated_at: datetime
    winner: Literal["sevdesk", "platform"]


class ChangeDraft(Model):
    """A change about to be published; the feed gives it its id and position."""

    model_config = ConfigDict(frozen=True)

    kind: ImportKind
    action: Action
    sevdesk_id: str
    source_id: str | None = None
    flags: tuple[Flag, ...] = ()
    conflict: ConflictInfo | None = None
    record: AnyRecord | None = None
    record_hash: str | None = None
    sevdesk_updated_at: datetime | None = None
    run_id: str | None = None


class Change(ChangeDraft):
    """A published change: `seq` orders a tenant's changes (gapless, in commit order)."""

    seq: int
    recorded_at: datetime

    @property
    def change_id(self) -> str:
        return f"ch_{self.seq:012d}"
