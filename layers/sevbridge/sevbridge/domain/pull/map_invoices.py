"""M4: sevDesk invoices → InvoiceRecord (pure functions over the live shape).

Input: an Invoice row as `GET /Invoice?embed=contact,contact.parent,addressCountry` answers it (the
embeds sevDesk's spec lists for invoices); the contact's e-mail and phone come from what the contacts
import recorded, or from the contact's communication ways, read separately. Imported: regular, advance,
partial and final invoices (RE, AR, TR, ER) once they left draft. Cancellation documents (SR) are
never imported as invoices: an SR with `origin` → X means X is cancelled. After cancelInvoice both X
and its SR read status "1000" with paidAmount 0 (api-facts §10), so status 1000 alone is not "paid":
the caller looks for an SR when `may_be_cancelled` says so.

The customer's data comes from what the invoice printed (address fields) and from its contact
(names, e-mail, phone); no e-mail means the invoice cannot be assigned to a platform customer
(flag `unassignable`).
"""

from __future__ import annotations

from decimal import Decimal

from sevbridge.domain.pull.map_contacts import map_contact
from sevbridge.domain.pull.records import InvoiceCustomer, InvoiceRecord, InvoiceStatusName
from sevbridge.domain.pull.wire import Row, amount, day, embedded, integer, ref_id, text

IMPORTED_TYPES = frozenset({"RE", "AR", "TR", "ER"})
CANCELLATION = "SR"
DRAFT, OPEN, PARTIALLY_PAID, PAID = 100, 200, 750, 1000


def invoice_type(row: Row) -> str:
    return (text(row.get("invoiceType")) or "RE").upper()


def is_cancellation(row: Row) -> bool:
    return invoice_type(row) == CANCELLATION


def cancelled_invoice_id(row: Row) -> str | None:
    """For an SR: the invoice it cancels (`origin`; an origin can also be an Order, api-facts §9)."""
    origin = row.get("origin")
    if not is_cancellation(row) or origin is None:
        return None
    if isinstance(origin, dict) and text(origin.get("objectName")) not in (None, "Invoice"):
        return None
    return ref_id(origin)


def in_scope(row: Row) -> bool:
    status = integer(row.get("status"))
    return invoice_type(row) in IMPORTED_TYPES and status is not None and status >= OPEN


def may_be_cancelled(row: Row) -> bool:
    """Status 1000 with nothing paid on a non-zero invoice: paid or cancelled, only an SR can tell."""
    gross = amount(row.get("sumGross")) or Decimal(0)
    paid = amount(row.get("paidAmount")) or Decimal(0)
    return integer(row.get("status")) == PAID and paid == 0 and gross != 0


def invoice_status(row: Row, *, cancelled: bool) -> InvoiceStatusName:
    if cancelled:
        return "cancelled"
    return "paid" if integer(row.get("status")) == PAID else "open"


def invoice_customer(
    row: Row,
    *,
    source_id: str | None = None,
    ways: list[Row] | None = None,
    addresses: list[Row] | None = None,
    known: tuple[str | None, str | None] | None = None,
) -> InvoiceCustomer:
    """`ways`/`addresses`: the contact's communication ways and addresses when read separately;
    `known`: (e-mail, phone) as the contacts import last recorded them (no request needed)."""
    contact = embedded(row.get("contact")) or {}
    if ways is not None:
        contact = {**contact, "communicationWays": ways}
    if addresses is not None:
        contact = {**contact, "addresses": addresses}
    person = map_contact(contact) if contact else None
    email = person.emails[0] if person and person.emails else None
    phone = (person.phone or (person.mobiles[0] if person.mobiles else None)) if person else None
    if known is not None and not ways:
        email, phone = known
    parent = embedded(contact.get("parent"))
    company = (person.organisation_name if person else None) or (text(parent.get("name")) if parent else None)
    country_row = embedded(row.get("addressCountry"))
    country = text(country_row.get("code")) if country_row else None
    printed = any(text(row.get(f)) for f in ("addressStreet", "addressZip", "addressCity"))
    billing = person.billing_address if person else None
    return InvoiceCustomer(
        sevdesk_id=ref_id(row.get("contact")),
        source_id=source_id,
        email=email,
        company=company,
        title=person.title if person else None,
        first_name=person.first_name if person else None,
        last_name=person.last_name if person else None,
        street=text(row.get("addressStreet")) if printed else (billing.street if billing else None),
        zip=text(row.get("addressZip")) if printed else (billing.zip if billing else None),
        city=text(row.get("addressCity")) if printed else (billing.city if billing else None),
        country=(country.upper() if country else None) if printed else (billing.country if billing else None),
        phone=phone,
    )


def needs_ways(row: Row) -> bool:
    """The contact's communication ways are not in the row (sevDesk does not embed them in invoices)."""
    contact = embedded(row.get("contact"))
    return contact is not None and "communicationWays" not in contact


def needs_addresses(row: Row) -> bool:
    """The invoice printed no address parts and its contact's addresses are not in the row."""
    contact = embedded(row.get("contact"))
    printed = any(text(row.get(f)) for f in ("addressStreet", "addressZip", "addressCity"))
    return contact is not None and not printed and "addresses" not in contact


def map_invoice(row: Row, *, customer: InvoiceCustomer, cancelled_by: str | None = None) -> InvoiceRecord:
    return InvoiceRecord(
        number=text(row.get("invoiceNumber")),
        invoice_date=day(row.get("invoiceDate")),
        invoice_type=invoice_type(row),
        status=invoice_status(row, cancelled=cancelled_by is not None),
        sevdesk_status=integer(row.get("status")),
        net_amount=amount(row.get("sumNet")),
        gross_amount=amount(row.get("sumGross")),
        paid_amount=amount(row.get("paidAmount")) or Decimal("0.00"),
        currency=text(row.get("currency")),
        time_to_pay_days=integer(row.get("timeToPay")),
        cancelled_by_sevdesk_id=cancelled_by,
        customer=customer,
    )


def cancellations_of(candidates: list[Row], invoice_id: str) -> list[str]:
    """Ids of the SRs among `candidates` that cancel `invoice_id` (filters may be loose: re-checked)."""
    return [
        sr_id
        for sr in candidates
        if cancelled_invoice_id(sr) == invoice_id and (sr_id := ref_id(sr.get("id"))) is not None
    ]
