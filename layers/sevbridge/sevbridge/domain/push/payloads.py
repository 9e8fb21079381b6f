"""Request bodies in sevDesk's vocabulary (api-facts §4, §5; example-payloads.json). Pure functions.

Amounts stay Decimal here; the HTTP client turns them into JSON numbers at the very edge. Unit
prices and quantities go out exactly as the platform sent them (at most 4 decimal places, see
events.Money): 10 000 kWh × 0.0125 € is 125 €, and sevDesk rounds the line sums to cents itself.
Only the notation is normalised (1.50 → 1.5, 100.00 → 100). Payments are booked in cents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sevbridge.domain.events import Address, Contact, ContactKind
from sevbridge.domain.push.documents import DocumentSpec

CENT = Decimal("0.01")
BERLIN = ZoneInfo("Europe/Berlin")  # sevDesk's time zone: its dates are Berlin calendar days
CONTACT_ACTIVE = 1000

TAX_TEXTS = {
    1: "Umsatzsteuer",
    2: "Steuerfreie Ausfuhrlieferung",
    3: "Steuerfreie innergemeinschaftliche Lieferung",
    4: "Steuerfreie Umsätze §4 UStG",
    5: "Steuerschuldnerschaft des Leistungsempfängers (§13b UStG)",
    11: "Kein Ausweis der Umsatzsteuer (Kleinunternehmer, §19 UStG)",
    17: "Nicht im Inland steuerbare Leistung",
    18: "Umsatzsteuer (OSS)",
    19: "Umsatzsteuer (OSS)",
    20: "Umsatzsteuer (OSS)",
    21: "Steuerschuldnerschaft des Leistungsempfängers (§18b UStG)",
}
OSS_RULES = frozenset({18, 19, 20})  # need deliveryAddressCountry (lower-case ISO code)


def ref(object_id: str | int, object_name: str) -> dict[str, Any]:
    return {"id": object_id, "objectName": object_name}


def exact(value: Decimal) -> Decimal:
    """The same amount without trailing zeros and never in exponent notation: 1.50 → 1.5, 1E+2 → 100.
    The value is never rounded."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def cents(value: Decimal) -> Decimal:
    """A payment amount: sevDesk books money in cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def sevdesk_date(day: date) -> str:
    """dd.mm.yyyy with a four-digit year whatever the platform's libc does (strftime's %Y gives "1" for
    the year 1 on glibc, and sevDesk then reads "01.01.1")."""
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def sevdesk_timestamp(day: date) -> str:
    """A calendar day as the date-time both sevDesk specs type `deliveryDate` with: local midnight in
    Berlin, with its offset, the same form sevDesk itself answers with ("2025-07-01T00:00:00+02:00")."""
    return datetime.combine(day, time(0, 0), tzinfo=BERLIN).isoformat(timespec="seconds")


def display_name(contact: Contact) -> str:
    if contact.resolved_kind is ContactKind.ORGANISATION:
        return contact.company_name or ""
    parts = (contact.title, contact.first_name, contact.last_name)
    return " ".join(p for p in parts if p)


# --- contacts -------------------------------------------------------------------------------


def contact_fields(contact: Contact) -> dict[str, str]:
    """The contact fields we manage, only those the platform filled (we never blank sevDesk data)."""
    if contact.resolved_kind is ContactKind.ORGANISATION:
        named = {"name": contact.company_name}
    else:
        named = {"surename": contact.first_name, "familyname": contact.last_name, "titel": contact.title}
    values = {
        **named,
        "customerNumber": contact.customer_number,
        "vatNumber": contact.vat_id,
        "description": contact.notes,
    }
    return {k: v for k, v in values.items() if v}


def new_contact_body(contact: Contact, category_id: str, *, customer_number: str | None = None) -> dict[str, Any]:
    """POST /Contact body; `customer_number` when the platform sent none and we obtained one."""
    fields: dict[str, Any] = dict(contact_fields(contact))
    if customer_number and "customerNumber" not in fields:
        fields["customerNumber"] = customer_number
    return {**fields, "category": ref(category_id, "Category"), "status": CONTACT_ACTIVE}


def address_fields(address: Address, *, country_id: str, category_id: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "street": address.street,
        "zip": address.zip,
        "city": address.city,
        "country": ref(country_id, "StaticCountry"),
        "category": ref(category_id, "Category"),
    }
    if address.name:
        fields["name"] = address.name
    return fields


# --- invoices -------------------------------------------------------------------------------


def address_block(contact: Contact) -> tuple[str, Address | None]:
    """(multi-line address, billing address): what the invoice prints in its address field."""
    billing = contact.billing_address
    name = (billing.name if billing and billing.name else None) or display_name(contact)
    lines = [name]
    if billing is not None:
        if billing.street:
            lines.append(billing.street)
        city = " ".join(p for p in (billing.zip, billing.city) if p)
        if city:
            lines.append(city)
    return "\n".join(line for line in lines if line), billing


def invoice_body(
    spec: DocumentSpec,
    *,
    marker: str,
    contact_id: str,
    contact_person_id: str,
    country_id: str,
    unit_ids: Mapping[str, str],
    existing_id: str | None = None,
    delete_position_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """saveInvoice body. With `existing_id` it rewrites that draft: old positions out, new ones in."""
    address, billing = address_block(spec.customer)
    name = address.split("\n", 1)[0]
    invoice: dict[str, Any] = {
        "objectName": "Invoice",
        "mapAll": True,
        "invoiceType": "RE",
        "status": "100",  # the only status sevDesk accepts when saving (api-facts §5)
        "invoiceDate": sevdesk_date(spec.invoice_date),
        "deliveryDate": sevdesk_timestamp(spec.delivery_date),
        "contact": ref(contact_id, "Contact"),
        "contactPerson": ref(contact_person_id, "SevUser"),
        "currency": spec.currency,
        "taxRule": ref(spec.tax_rule, "TaxRule"),
        "taxRate": 0,  # header rate is still required under 2.0; positions carry the real rates
        "taxText": TAX_TEXTS.get(spec.tax_rule, "Umsatzsteuer"),
        "discount": 0,
        "showNet": spec.show_net,
        "header": spec.header,
        "customerInternalNote": marker,
        "address": address,
        "addressName": name,
        "addressStreet": billing.street if billing else None,
        "addressZip": billing.zip if billing else None,
        "addressCity": billing.city if billing else None,
        "addressCountry": ref(country_id, "StaticCountry"),
    }
    if existing_id is not None:
        invoice["id"] = existing_id
    if spec.number:
        invoice["invoiceNumber"] = spec.number
    if spec.time_to_pay_days is not None:
        invoice["timeToPay"] = spec.time_to_pay_days
    if spec.tax_rule in OSS_RULES:
        invoice["deliveryAddressCountry"] = (billing.country if billing else "DE").lower()
    positions = []
    for index, line in enumerate(spec.lines):
        pos: dict[str, Any] = {
            "objectName": "InvoicePos",
            "mapAll": True,
            "positionNumber": index,
            "name": line.name,
            "quantity": exact(line.quantity),
            "price": exact(line.price),  # never rounded to cents (0.0125 €/kWh stays 0.0125)
            "unity": ref(unit_ids[line.unit], "Unity"),
            "taxRate": exact(line.tax_rate),
        }
        if line.text:
            pos["text"] = line.text
        if line.discount_percent:
            pos["discount"] = exact(line.discount_percent)
        positions.append(pos)
    return {
        "invoice": invoice,
        "invoicePosSave": positions,
        # An array of {id, objectName}; a bare object is rejected (api-facts §2 "expected array").
        "invoicePosDelete": [ref(pid, "InvoicePos") for pid in delete_position_ids] or None,
        "discountSave": None,
        "discountDelete": None,
        "takeDefaultAddress": False,  # always our address: a default-less contact gave empty invoices
    }
