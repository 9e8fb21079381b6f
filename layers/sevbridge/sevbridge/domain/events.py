"""Platform events (design.md "The HTTP contract"): the envelope and the data of each event type.

Money is Decimal (never float); every model forbids unknown fields so a typo is a 422, not a silently
ignored value. Platforms keep their own ids as `source_id`.

Ranges are checked here, at intake, so that a bad value is a 422 naming its field instead of a transfer
that fails later at sevDesk (docs/events.md "Valid values"): document dates lie in DATE_WINDOW; amounts
are never negative, except a position's unit price (discount and credit lines) as long as the invoice
as a whole does not add up to less than zero; a regular invoice is not delivered after its date.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sevbridge.common.model import Model

SourceId = Annotated[str, Field(min_length=1, max_length=128, description="The platform's own id")]
# A unit price: negative for a discount or credit line (the invoice total must still be >= 0).
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=4)]
# Rates, payments, article prices: a negative value makes no sense.
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]
# Document dates sevDesk can book: from the euro's first year (sevDesk accounts hold no older books) to
# the end of the century; anything outside is a typo like 0001-01-01 or 2205-03-01.
DATE_WINDOW = (date(2000, 1, 1), date(2099, 12, 31))
_WINDOW_TEXT = f"between {DATE_WINDOW[0].isoformat()} and {DATE_WINDOW[1].isoformat()}"


def _in_window(day: date) -> date:
    if not DATE_WINDOW[0] <= day <= DATE_WINDOW[1]:
        raise ValueError(f"is {day.isoformat()}; document dates must be {_WINDOW_TEXT}")
    return day


DocumentDate = Annotated[date, AfterValidator(_in_window)]
TaxRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


# Fields whose text may span lines (sevDesk prints them as such): tab, line feed and carriage return are
# allowed there. Every other control character (C0, DEL, C1) is refused in every text field: sevDesk
# stores them unchanged, they break its PDFs and CSV exports, and they reach other systems via change feeds.
MULTILINE_FIELDS = frozenset({"notes", "description", "street"})
_LINE_BREAKS = frozenset("\t\n\r")


def _control_character(text: str, *, multiline: bool) -> tuple[int, str] | None:
    for index, char in enumerate(text):
        code = ord(char)
        if (code < 0x20 or 0x7F <= code <= 0x9F) and not (multiline and char in _LINE_BREAKS):
            return index, char
    return None


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            multiline = info.field_name in MULTILINE_FIELDS
            found = _control_character(value, multiline=multiline)
            if found is not None:
                index, char = found
                allowed = "only tab, line feed and carriage return are" if multiline else "none is"
                raise ValueError(
                    f"contains the control character U+{ord(char):04X} at position {index + 1}; {allowed} "
                    "allowed in this field"
                )
        return value


class Address(_Strict):
    street: str | None = Field(default=None, max_length=255)
    zip: str | None = Field(default=None, max_length=32)
    city: str | None = Field(default=None, max_length=255)
    country: str = Field(default="DE", min_length=2, max_length=2, description="ISO 3166-1 alpha-2 country code")
    name: str | None = Field(default=None, max_length=255, description="Recipient line, if not the contact")


class ContactKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PAID = "paid"


class Position(_Strict):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    quantity: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4)]
    unit: str = Field(min_length=1, max_length=64, description="Unit name or alias, e.g. 'Stk', 'h', 'm²'")
    unit_price: Money = Field(
        description="Per unit; net or gross per the invoice's `prices`. May be negative for a discount or "
        "credit line, as long as the invoice total is not negative"
    )
    tax_rate: TaxRate = Field(description="VAT rate in percent, e.g. 19")
    discount_percent: Annotated[Decimal, Field(ge=0, le=100)] | None = None


def position_total(position: Position) -> Decimal:
    """quantity × unit price less the discount: net or gross as the invoice's prices are; its sign is
    the sign of the amount sevDesk will compute (tax rates are never negative)."""
    full = position.quantity * position.unit_price
    return full - full * (position.discount_percent or 0) / 100


def gross_total(positions: list[Position], *, prices: str) -> Decimal:
    """The invoice's gross total as sevDesk computes it from these positions: each line rounded to the
    cent, VAT per rate over the net lines (net prices), or the gross lines themselves (gross prices).
    The highest total the invoice can have: a tax rule without VAT only makes it smaller."""
    if prices == "gross":
        return sum((_line_in_cents(p) for p in positions), Decimal(0))
    net_by_rate: dict[Decimal, Decimal] = {}
    for position in positions:
        net_by_rate[position.tax_rate] = net_by_rate.get(position.tax_rate, Decimal(0)) + _line_in_cents(position)
    return sum((net + _cents(net * rate / 100) for rate, net in net_by_rate.items()), Decimal(0))


def _line_in_cents(position: Position) -> Decimal:
    full = position.quantity * position.unit_price
    return _cents(full) - _cents(full * (position.discount_percent or 0) / 100)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Contact(_Strict):
    """A customer (P2). Person when `kind` is person; organisation otherwise."""

    source_id: SourceId
    kind: ContactKind | None = Field(
        default=None, description="Defaults to organisation when company_name is set, else person"
    )
    sevdesk_id: str | None = Field(default=None, max_length=32, description="A known sevDesk contact id")
    customer_number: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, max_length=64, description="Academic title, e.g. 'Dr.'")
    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)
    company_name: str | None = Field(default=None, max_length=255)
    emails: list[EmailStr] = Field(default_factory=list, max_length=5)
    phone: str | None = Field(default=None, max_length=64)
    mobile: str | None = Field(default=None, max_length=64)
    website: str | None = Field(default=None, max_length=255)
    billing_address: Address | None = None
    delivery_addresses: list[Address] = Field(default_factory=list, max_length=20)
    vat_id: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=5000)

    @property
    def resolved_kind(self) -> ContactKind:
        if self.kind is not None:
            return self.kind
        return ContactKind.ORGANISATION if self.company_name else ContactKind.PERSON

    @model_validator(mode="after")
    def _has_a_name(self) -> Contact:
        if self.resolved_kind is ContactKind.ORGANISATION and not self.company_name:
            raise ValueError("an organisation needs company_name")
        if self.resolved_kind is ContactKind.PERSON and not (self.first_name or self.last_name):
            raise ValueError("a person needs first_name or last_name")
        return self


class _InvoiceFields(_Strict):
    source_id: SourceId
    number: str | None = Field(default=None, max_length=64, description="The platform's invoice number")
    status: InvoiceStatus
    invoice_date: DocumentDate = Field(description=f"Invoice date, {_WINDOW_TEXT}")
    delivery_date: DocumentDate | None = Field(
        default=None, description="Delivery date; not after invoice_date (sevDesk refuses that). Default: invoice_date"
    )
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    title: str | None = Field(default=None, max_length=255, description="Invoice header")
    time_to_pay_days: int | None = Field(default=None, ge=0, le=365)
    tax_rule: Literal[1, 2, 3, 4, 5, 11, 17, 18, 19, 20, 21] = Field(
        default=1, description="sevDesk revenue tax rule; 1 = taxable domestic revenue"
    )
    prices: Literal["net", "gross"] = "net"
    positions: list[Position] = Field(min_length=1, max_length=500)
    paid_at: DocumentDate | None = Field(
        default=None, description=f"Payment date when status is paid, {_WINDOW_TEXT}; default: the transfer day"
    )
    paid_amount: Amount | None = Field(
        default=None,
        description="Amount paid when status is paid; greater than 0, defaults to the invoice total",
    )

    @field_validator("positions")
    @classmethod
    def _total_not_negative(cls, positions: list[Position]) -> list[Position]:
        total = sum((position_total(p) for p in positions), Decimal(0))
        if total < 0:
            raise ValueError(
                f"the positions add up to {total:.2f}, less than zero; negative unit prices are for discount "
                "and credit lines within an invoice, a whole credit note is not an invoice"
            )
        return positions

    @field_validator("delivery_date")
    @classmethod
    def _delivered_by_invoice_date(cls, delivery: date | None, info: ValidationInfo) -> date | None:
        invoice_date = info.data.get("invoice_date")
        if delivery is not None and invoice_date is not None and delivery > invoice_date:
            raise ValueError(
                f"is {delivery}, after invoice_date {invoice_date}; sevDesk refuses a delivery after the date of "
                "a regular invoice"
            )
        return delivery

    @field_validator("paid_amount")
    @classmethod
    def _something_paid(cls, amount: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if amount is not None and amount == 0 and info.data.get("status") is InvoiceStatus.PAID:
            raise ValueError("is 0 on a paid invoice; send the amount paid, or omit it to book the invoice total")
        positions = info.data.get("positions")
        if amount is not None and positions:
            total = gross_total(positions, prices=info.data.get("prices", "net"))
            if amount > total:
                raise ValueError(
                    f"is {amount}, more than the invoice's gross total {total}; an invoice cannot be paid "
                    "beyond its total (omit paid_amount to book the total)"
                )
        return amount


class Invoice(_InvoiceFields):
    customer: Contact = Field(description="Resolved like a contact event (I3); its billing address is printed")


class EmbeddedInvoice(_InvoiceFields):
    """An invoice inside `contact.upserted` (P3): its customer is the enclosing contact."""

    customer: Contact | None = Field(default=None, description="Omit: the enclosing contact is the customer")


class ContactWithInvoices(Contact):
    """`contact.upserted` / `contact.transfer_requested` data: a contact, optionally with its invoices (P3)."""

    # At most 50: the event's transfer ids end in the document's position (two hex digits), and the
    # event's transfers stay well inside one request's writes.
    invoices: list[EmbeddedInvoice] = Field(default_factory=list, max_length=50)

    @field_validator("invoices")
    @classmethod
    def _same_customer(cls, invoices: list[EmbeddedInvoice], info: ValidationInfo) -> list[EmbeddedInvoice]:
        source_id = info.data.get("source_id")
        for index, invoice in enumerate(invoices):
            if invoice.customer is not None and invoice.customer.source_id != source_id:
                raise ValueError(
                    f"invoices.{index}.customer.source_id is '{invoice.customer.source_id}', but the invoices "
                    f"of a contact event must belong to that contact ('{source_id}'); omit customer"
                )
        return invoices

    def contact(self) -> Contact:
        return Contact.model_validate(self.model_dump(exclude={"invoices"}))

    def full_invoices(self) -> list[Invoice]:
        """The embedded invoices with the whole contact (addresses included) as their customer."""
        contact = self.contact()
        return [Invoice(**invoice.model_dump(exclude={"customer"}), customer=contact) for invoice in self.invoices]


class AppointmentState(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class Article(_Strict):
    name: str = Field(min_length=1, max_length=255)
    quantity: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4)]
    unit: str = Field(min_length=1, max_length=64)
    unit_price: Amount
    tax_rate: TaxRate = Decimal(19)


class Appointment(_Strict):
    source_id: SourceId | None = None
    title: str = Field(min_length=1, max_length=255)
    state: AppointmentState
    day: DocumentDate | None = Field(default=None, description="When the appointment took place")
    hours: Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=2)] = Decimal(0)
    articles: list[Article] = Field(default_factory=list, max_length=200)


class Project(_Strict):
    """`project.completed` data (I7)."""

    source_id: SourceId
    title: str = Field(min_length=1, max_length=255)
    customer: Contact
    hourly_rate: Amount
    hour_unit: str = Field(default="Std", min_length=1, max_length=64)
    tax_rate: TaxRate = Decimal(19)
    tax_rule: Literal[1, 2, 3, 4, 5, 11, 17, 18, 19, 20, 21] = 1
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    invoice_date: DocumentDate | None = Field(
        default=None, description=f"{_WINDOW_TEXT}; defaults to the day the draft is made"
    )
    appointments: list[Appointment] = Field(min_length=1, max_length=500)

    @property
    def done_appointments(self) -> list[Appointment]:
        return [a for a in self.appointments if a.state is AppointmentState.DONE]


class EventType(StrEnum):
    CONTACT_UPSERTED = "contact.upserted"
    # The platform user transferred the contact on purpose: its current-year sent/paid invoices go along
    # whatever `auto_transfer` says (P3, design.md "a manual contact transfer").
    CONTACT_TRANSFER_REQUESTED = "contact.transfer_requested"
    INVOICE_UPSERTED = "invoice.upserted"
    INVOICE_TRANSFER_REQUESTED = "invoice.transfer_requested"
    PROJECT_COMPLETED = "project.completed"


DATA_MODEL_BY_TYPE: dict[EventType, type[BaseModel]] = {
    EventType.CONTACT_UPSERTED: ContactWithInvoices,
    EventType.CONTACT_TRANSFER_REQUESTED: ContactWithInvoices,
    EventType.INVOICE_UPSERTED: Invoice,
    EventType.INVOICE_TRANSFER_REQUESTED: Invoice,
    EventType.PROJECT_COMPLETED: Project,
}


class EventEnvelope(_Strict):
    id: str = Field(min_length=1, max_length=128, description="Event id; makes delivery idempotent")
    type: EventType
    occurred_at: AwareDatetime = Field(
        description="When it happened on the platform, with a UTC offset; orders versions"
    )
    data: dict[str, Any]
