"""M1: sevDesk contacts of category customer → ContactRecord (pure functions over the live shape).

Input is a Contact row as `GET /Contact?embed=addresses,addresses.country,communicationWays` answers
it: ids and flags as strings, nulls, `main` as "1"/"0". Organisations have `name`, persons
`surename`/`familyname` (api-facts §4). Addresses: exactly one billing address — the invoice address
(category 47; the contact's main address if several, else the first), or, without one, the main/first
address that is not a delivery address — and every delivery address (category 48). Communication
ways: at most two e-mails, two mobile numbers and one phone, main ones first. An address or number
removed in sevDesk is simply absent from the next record of that contact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sevbridge.domain.pull.records import AddressRecord, ContactRecord
from sevbridge.domain.pull.wire import Row, embedded, flag, ref_id, rows, text

CUSTOMER_CATEGORY = "3"
BILLING_CATEGORY = "47"
DELIVERY_CATEGORY = "48"
MOBILE_KEY = "4"  # CommunicationWayKey "Mobil": a PHONE saved with it is a mobile number
MAX_EMAILS, MAX_MOBILES = 2, 2


def is_customer(row: Row) -> bool:
    return ref_id(row.get("category")) == CUSTOMER_CATEGORY


def _id_order(row: Row) -> tuple[int, str]:
    value = ref_id(row.get("id")) or ""
    return (int(value), "") if value.isdigit() else (2**63, value)


def map_address(row: Row) -> AddressRecord:
    country = embedded(row.get("country"))
    code = text(country.get("code")) if country else None
    name = " ".join(part for part in (text(row.get(f)) for f in ("name", "name2", "name3", "name4")) if part)
    return AddressRecord(
        name=name or None,
        street=text(row.get("street")),
        zip=text(row.get("zip")),
        city=text(row.get("city")),
        country=code.upper() if code else None,
    )


def _pick_billing(addresses: list[Row], main_id: str | None) -> Row | None:
    invoice = [a for a in addresses if ref_id(a.get("category")) == BILLING_CATEGORY]
    others = [a for a in addresses if ref_id(a.get("category")) != DELIVERY_CATEGORY]
    for pool in (invoice, others):
        if pool:
            main = [a for a in pool if main_id is not None and ref_id(a.get("id")) == main_id]
            return main[0] if main else pool[0]
    return None


def _ways(rows_: Iterable[Row]) -> list[Row]:
    """Main ones first, then by id: 'main first' and stable when nothing changed."""
    return sorted(rows_, key=lambda w: (not flag(w.get("main")), _id_order(w)))


def _values(ways: list[Row], wanted: set[str], *, mobile: bool | None = None, limit: int) -> list[str]:
    found: list[str] = []
    for way in ways:
        kind = (text(way.get("type")) or "").upper()
        if kind not in wanted:
            continue
        if mobile is not None:
            is_mobile = kind == "MOBILE" or ref_id(way.get("key")) == MOBILE_KEY
            if is_mobile != mobile:
                continue
        value = text(way.get("value"))
        if value and value not in found:
            found.append(value)
        if len(found) == limit:
            break
    return found


def map_contact(row: Row) -> ContactRecord:
    addresses = sorted(rows(row.get("addresses")), key=_id_order)
    main = row.get("mainAddress")
    billing = _pick_billing(addresses, ref_id(main) if main else None)
    delivery = [a for a in addresses if ref_id(a.get("category")) == DELIVERY_CATEGORY]
    ways = _ways(rows(row.get("communicationWays")))
    organisation = text(row.get("name"))
    phones = _values(ways, {"PHONE"}, mobile=False, limit=1)
    return ContactRecord(
        kind="organisation" if organisation else "person",
        organisation_name=organisation,
        title=text(row.get("titel")),
        academic_title=text(row.get("academicTitle")),
        first_name=None if organisation else text(row.get("surename")),
        last_name=None if organisation else text(row.get("familyname")),
        name_suffix=None if organisation else text(row.get("name2")),
        customer_number=text(row.get("customerNumber")),
        description=text(row.get("description")),
        vat_id=text(row.get("vatNumber")),
        parent_sevdesk_id=ref_id(row.get("parent")),
        billing_address=map_address(billing) if billing is not None else None,
        delivery_addresses=[map_address(a) for a in delivery],
        emails=_values(ways, {"EMAIL"}, limit=MAX_EMAILS),
        mobiles=_values(ways, {"MOBILE", "PHONE"}, mobile=True, limit=MAX_MOBILES),
        phone=phones[0] if phones else None,
    )


def display_name(row: Mapping[str, Any]) -> str | None:
    """How a contact is named on documents: the organisation, else 'first last'."""
    organisation = text(row.get("name"))
    if organisation:
        return organisation
    person = " ".join(part for part in (text(row.get("surename")), text(row.get("familyname"))) if part)
    return person or None
