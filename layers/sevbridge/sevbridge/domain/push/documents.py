"""A sevDesk invoice to be written, independent of where it came from (an invoice or a project),
and the fingerprints that tell whether its content changed since it was last written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from sevbridge.domain.events import Contact, Invoice, InvoiceStatus
from sevbridge.domain.push.statuses import DRAFT, OPEN, PAID


@dataclass(frozen=True)
class Line:
    name: str
    text: str | None
    quantity: Decimal
    unit: str
    price: Decimal
    tax_rate: Decimal
    discount_percent: Decimal | None = None
    # Used when `unit` does not exist in the tenant's sevDesk (project title line, see projects.py).
    unit_fallback: str | None = None


@dataclass(frozen=True)
class DocumentSpec:
    label: str  # how messages name it: "invoice RE-1001", "project draft 'Umbau'"
    number: str | None
    customer: Contact
    invoice_date: date
    delivery_date: date
    currency: str
    header: str
    time_to_pay_days: int | None
    tax_rule: int
    show_net: bool
    lines: tuple[Line, ...]


TARGET_STATUS = {InvoiceStatus.DRAFT: DRAFT, InvoiceStatus.SENT: OPEN, InvoiceStatus.PAID: PAID}


def invoice_document(invoice: Invoice) -> DocumentSpec:
    return DocumentSpec(
        label=f"invoice {invoice.number}" if invoice.number else f"invoice '{invoice.source_id}'",
        number=invoice.number,
        customer=invoice.customer,
        invoice_date=invoice.invoice_date,
        # api-facts §5: a later delivery date is rejected for RE, equal is the safe choice.
        delivery_date=invoice.delivery_date or invoice.invoice_date,
        currency=invoice.currency,
        header=invoice.title or (f"Rechnung {invoice.number}" if invoice.number else "Rechnung"),
        time_to_pay_days=invoice.time_to_pay_days,
        tax_rule=invoice.tax_rule,
        show_net=invoice.prices == "net",
        lines=tuple(
            Line(
                name=p.name,
                text=p.description,
                quantity=p.quantity,
                unit=p.unit,
                price=p.unit_price,
                tax_rate=p.tax_rate,
                discount_percent=p.discount_percent,
            )
            for p in invoice.positions
        ),
    )


# --- fingerprints ---------------------------------------------------------------------------

# Not content: status and payment move the document along, they don't change what it says.
_INVOICE_NOT_CONTENT = {"status", "paid_at", "paid_amount", "customer"}
# What an invoice prints about its customer (the invoice carries its own address copy).
_CUSTOMER_ON_DOCUMENT = {"kind", "title", "first_name", "last_name", "company_name", "billing_address"}


def _canonical(value: Any) -> Any:
    """JSON-able and stable: 1.5 and 1.50 are the same amount and must hash the same."""
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump(mode="python"))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def fingerprint(value: Any) -> str:
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def invoice_content_hash(invoice: Invoice) -> str:
    """Positions, dates, number, tax, header… and which customer; not status or payment."""
    doc = {k: v for k, v in invoice.model_dump(mode="python").items() if k not in _INVOICE_NOT_CONTENT}
    doc["customer_source_id"] = invoice.customer.source_id
    return fingerprint(doc)


# Bump when what a contact push writes changes (another field, another address rule): every contact
# is then synced in full once more.
CONTACT_HASH_VERSION = 1


def contact_content_hash(contact: Contact) -> str:
    """Everything a contact push may write or match by (names, numbers, addresses, communication
    ways, notes, the sevDesk id hint…); not the invoices a ContactWithInvoices carries along."""
    data = contact.model_dump(mode="python")
    doc = {name: data.get(name) for name in sorted(Contact.model_fields)}
    return fingerprint({"v": CONTACT_HASH_VERSION, "contact": doc})


def address_hash(contact: Contact) -> str:
    """The customer's name and billing address as printed on the document."""
    data = contact.model_dump(mode="python")
    return fingerprint({k: data.get(k) for k in sorted(_CUSTOMER_ON_DOCUMENT)})
