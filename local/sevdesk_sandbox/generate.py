"""Fast, deterministic bulk data in the live API's shape, for tests and benchmarks.

`generate(state, account_id, contacts=10_000, invoices=10_000)` fills an account in well under a second
per thousand records: customers (organisations and persons) with a billing address, sometimes a
delivery address, e-mail/phone/mobile; articles ("Artikel" parts); order confirmations and quotes with
positions; invoices in every status, and cancelled invoices as sevDesk shows them after
`cancelInvoice` (api-facts §10: the original and its SR both status "1000" with paidAmount 0, the SR
with `origin` → original, negative sums and its own number, both enshrined, same
customerInternalNote). Like records someone creates in sevDesk, generated ones are stamped with the
sandbox clock's now (`create`/`update`), so an incremental import picks them up. With `backdate=True`
they get a history instead: `create`/`update` times spread over `days` before `until` (default: one day
ago), so an import's watermark sits before anything a test changes afterwards. The admin API exposes it
as `POST /__sandbox/accounts/<id>/generate` (`"backdate": true` for a history).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .clock import BERLIN, iso
from .state import Account, SandboxState
from .templates import blank
from .wire import money, number_str, ref

COMPANIES = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
)
LEGAL_FORMS = ("GmbH", "GmbH & Co. KG", "KG", "e.K.", "AG", "GbR", "UG (haftungsbeschränkt)")
TRADES = ("Haustechnik", "Gartenbau", "Reinigung", "Elektro", "Malerbetrieb", "Hundeschule", "Logistik")
FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannah", "Jonas", "Lena", "Paul", "Sophie")
LAST_NAMES = ("Bauer", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Werner")
STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schulstraße", "Lindenallee", "Am Markt", "Bergstraße")
CITIES = (
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("04109", "Leipzig"),
)
ARTICLES = (
    ("Wartung Heizungsanlage", 9),
    ("Fensterreinigung", 2),
    ("Rasendünger 10 kg", 1),
    ("Hundeleine Leder", 1),
    ("Anfahrtspauschale", 7),
    ("Kupferrohr 15 mm", 3),
    ("Arbeitsstunde Geselle", 9),
)
CUSTOMER, SUPPLIER = "3", "2"
BILLING, DELIVERY = "47", "48"
PART_CATEGORY = "40"  # "Artikel" (reference_data.CATEGORIES)
KEY_PRIVATE, KEY_WORK, KEY_MOBILE = "1", "2", "4"


@dataclass
class Generated:
    """Ids of what was made, per objectName (the admin API answers with the counts)."""

    ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        self.ids.setdefault(str(row["objectName"]), []).append(str(row["id"]))
        return row

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.ids.items()}


class _Maker:
    def __init__(self, state: SandboxState, account: Account, rng: random.Random, start: datetime, end: datetime):
        self.state = state
        self.account = account
        self.rng = rng
        self.start = start
        self.span = max(1.0, (end - start).total_seconds())
        self.now: datetime | None = None  # set: every record is stamped with this moment (no history)
        self.out = Generated()
        self.customers: list[dict[str, Any]] = []
        self.billing: dict[str, dict[str, Any]] = {}
        self.parts: list[dict[str, Any]] = []
        self._numbers: dict[str, int] = {}
        self._templates: dict[str, dict[str, Any]] = {}

    # -- plumbing ------------------------------------------------------------------------------
    def times(self) -> tuple[str, str]:
        if self.now is not None:
            return iso(self.now), iso(self.now)
        created = self.start + timedelta(seconds=self.rng.uniform(0, self.span * 0.8))
        updated = created + timedelta(seconds=self.rng.uniform(0, self.span * 0.2))
        return iso(created), iso(updated)

    def insert(self, object_name: str, fields: dict[str, Any], **stamps: str) -> dict[str, Any]:
        # Templates hold only scalars: one deep copy per type, then shallow merges (fast for 10 000s).
        if object_name not in self._templates:
            self._templates[object_name] = blank(object_name)
        row = {**self._templates[object_name], **fields, **stamps}
        return self.out.add(self.state.insert(self.account, object_name, row))

    def number(self, prefix: str, object_name: str, field_name: str) -> str:
        """The next free '<prefix><n>' number, after any the account already has."""
        if prefix not in self._numbers:
            used = [
                int(text[len(prefix) :])
                for row in self.state.rows(self.account, object_name)
                if (text := str(row.get(field_name) or "")).startswith(prefix) and text[len(prefix) :].isdigit()
            ]
            self._numbers[prefix] = max([999, *used]) + 1
        value = self._numbers[prefix]
        self._numbers[prefix] = value + 1
        return f"{prefix}{value}"

    def address_lines(self, contact: dict[str, Any]) -> str:
        billing = self.billing[contact["id"]]
        city = " ".join(str(part) for part in (billing.get("zip"), billing.get("city")) if part)
        return "\n".join(line for line in (self.display_name(contact), billing.get("street"), city) if line)

    def day_of(self, stamp: str) -> str:
        moment = datetime.fromisoformat(stamp).astimezone(BERLIN)
        return iso(datetime.combine(moment.date(), datetime.min.time(), tzinfo=BERLIN))

    # -- contacts ------------------------------------------------------------------------------
    def contact(self, index: int, category: str) -> dict[str, Any]:
        rng = self.rng
        created, updated = self.times()
        organisation = rng.random() < 0.6
        fields: dict[str, Any] = {
            "customerNumber": str(10000 + index),
            "category": ref(category, "Category"),
            "status": "1000",
            "description": rng.choice((None, None, "Stammkunde", "Zahlt per Lastschrift")),
        }
        if organisation:
            fields["name"] = f"{rng.choice(COMPANIES)} {rng.choice(TRADES)} {rng.choice(LEGAL_FORMS)}"
            fields["vatNumber"] = f"DE{rng.randrange(100_000_000, 999_999_999)}"
        else:
            fields["surename"] = rng.choice(FIRST_NAMES)
            fields["familyname"] = rng.choice(LAST_NAMES)
            fields["titel"] = rng.choice((None, None, None, "Dr."))
            fields["gender"] = rng.choice(("m", "w", None))
        row = self.insert("Contact", fields, create=created, update=updated)
        key = KEY_WORK if organisation else KEY_PRIVATE
        billing = self.address(row, BILLING, created)
        self.billing[row["id"]] = billing
        if rng.random() < 0.3:
            self.address(row, DELIVERY, created)
        slug = (fields.get("name") or f"{fields['surename']}.{fields['familyname']}").split()[0].lower()
        if rng.random() < 0.9:
            self.way(row, "EMAIL", f"{slug}{index}@example.org", key, main=True, created=created)
        self.way(row, "PHONE", f"+49 30 {rng.randrange(1_000_000, 9_999_999)}", key, main=True, created=created)
        if rng.random() < 0.5:
            self.way(row, "MOBILE", f"+49 171 {rng.randrange(1_000_000, 9_999_999)}", KEY_MOBILE, False, created)
        return row

    def address(self, contact: dict[str, Any], category: str, created: str) -> dict[str, Any]:
        zip_code, city = self.rng.choice(CITIES)
        fields = {
            "contact": ref(contact["id"], "Contact"),
            "street": f"{self.rng.choice(STREETS)} {self.rng.randrange(1, 120)}",
            "zip": zip_code,
            "city": city,
            "country": ref("1", "StaticCountry"),
            "category": ref(category, "Category"),
            "name": "Lager" if category == DELIVERY else None,
        }
        return self.insert("ContactAddress", fields, create=created, update=created)

    def way(self, contact: dict[str, Any], kind: str, value: str, key: str, main: bool, created: str) -> None:
        fields = {
            "contact": ref(contact["id"], "Contact"),
            "type": kind,
            "value": value,
            "key": ref(key, "CommunicationWayKey"),
            "main": "1" if main else "0",
        }
        self.insert("CommunicationWay", fields, create=created, update=created)

    def display_name(self, contact: dict[str, Any]) -> str:
        return str(contact.get("name") or f"{contact.get('surename')} {contact.get('familyname')}")

    # -- parts and orders ----------------------------------------------------------------------
    def part(self, index: int) -> dict[str, Any]:
        rng = self.rng
        name, unit = rng.choice(ARTICLES)
        rate = Decimal(rng.choice((19, 19, 7)))
        net = money(Decimal(rng.randrange(150, 25_000)) / 100)
        created, updated = self.times()
        fields = {
            "name": f"{name} ({index})",
            "partNumber": f"ART-{index:05d}",
            "text": rng.choice((None, "Lieferung frei Haus", "inkl. Material")),
            "category": ref(PART_CATEGORY, "Category") if rng.random() < 0.9 else None,
            "unity": ref(str(unit), "Unity"),
            "price": number_str(net),
            "priceNet": number_str(net),
            "priceGross": number_str(money(net * (1 + rate / 100))),
            "taxRate": number_str(rate),
            "status": "100" if rng.random() < 0.9 else "50",
        }
        row = self.insert("Part", fields, create=created, update=updated)
        self.parts.append(row)
        return row

    def order(self) -> dict[str, Any]:
        rng = self.rng
        contact = rng.choice(self.customers)
        order_type = "AB" if rng.random() < 0.7 else "AN"
        status = rng.choice(("200", "200", "200", "100", "1000"))
        created, updated = self.times()
        number = self.number(f"{order_type}-", "Order", "orderNumber")
        fields = {
            "orderNumber": number,
            "orderType": order_type,
            "status": status,
            "orderDate": self.day_of(created),
            "contact": ref(contact["id"], "Contact"),
            "header": f"{'Auftragsbestätigung' if order_type == 'AB' else 'Angebot'} {number}",
            "address": self.address_lines(contact),
            "addressCountry": ref("1", "StaticCountry"),
            "contactPerson": ref(self.account.sev_user_id, "SevUser"),
            "taxRule": ref("1", "TaxRule"),
            "taxText": "Umsatzsteuer",
            "sendDate": updated if status != "100" else None,
            "sendType": "VPDF" if status != "100" else None,
        }
        order = self.insert("Order", fields, create=created, update=updated)
        net = tax = Decimal(0)
        for position in range(rng.randrange(1, 4)):
            part = rng.choice(self.parts) if self.parts else None
            quantity = Decimal(rng.randrange(1, 10))
            price = Decimal(str(part["priceNet"])) if part else Decimal(rng.randrange(10, 200))
            rate = Decimal(str(part["taxRate"])) if part else Decimal(19)
            line = money(quantity * price)
            net += line
            tax += money(line * rate / 100)
            self.insert(
                "OrderPos",
                {
                    "order": ref(order["id"], "Order"),
                    "part": ref(part["id"], "Part") if part else None,
                    "quantity": number_str(quantity),
                    "price": number_str(price),
                    "priceNet": number_str(price),
                    "priceTax": number_str(money(price * rate / 100)),
                    "priceGross": number_str(money(price * (1 + rate / 100))),
                    "name": str(part["name"]) if part else "Dienstleistung",
                    "text": None,
                    "unity": part["unity"] if part else ref("9", "Unity"),
                    "positionNumber": str(position),
                    "taxRate": f"{rate:.2f}",
                },
                create=created,
                update=created,
            )
        order.update(sumNet=number_str(net), sumTax=number_str(tax), sumGross=number_str(net + tax))
        return order

    # -- invoices ------------------------------------------------------------------------------
    def invoice(self, *, status: str | None = None) -> dict[str, Any]:
        rng = self.rng
        contact = rng.choice(self.customers)
        status = status or rng.choices(("100", "200", "750", "1000"), weights=(10, 35, 5, 50))[0]
        created, updated = self.times()
        net = money(Decimal(rng.randrange(2_000, 500_000)) / 100)
        tax = money(net * Decimal("0.19"))
        gross = net + tax
        paid = {"100": Decimal(0), "200": Decimal(0), "750": money(gross / 2), "1000": gross}[status]
        billing = self.billing[contact["id"]]
        number = None if status == "100" else self.number("RE-", "Invoice", "invoiceNumber")
        name = self.display_name(contact)
        fields: dict[str, Any] = {
            "invoiceNumber": number,
            "invoiceType": "RE",
            "contact": ref(contact["id"], "Contact"),
            "invoiceDate": self.day_of(created),
            "deliveryDate": self.day_of(created),
            "header": f"Rechnung {number}" if number else "Rechnung",
            "status": status,
            "address": self.address_lines(contact),
            "addressName": name,
            "addressStreet": billing.get("street"),
            "addressZip": billing.get("zip"),
            "addressCity": billing.get("city"),
            "addressCountry": ref("1", "StaticCountry"),
            "contactPerson": ref(self.account.sev_user_id, "SevUser"),
            "taxRule": ref("1", "TaxRule"),
            "taxText": "Umsatzsteuer",
            "timeToPay": "14",
            "sumNet": number_str(net),
            "sumTax": number_str(tax),
            "sumGross": number_str(gross),
            "sumNetAccounting": number_str(net),
            "sumTaxAccounting": number_str(tax),
            "sumGrossAccounting": number_str(gross),
            "paidAmount": float(paid) if paid != paid.to_integral_value() else int(paid),
            "sendType": None if status == "100" else "VPDF",
            "sendDate": None if status == "100" else updated,
            "payDate": updated if status == "1000" else None,
            "cancelled": None,
        }
        return self.insert("Invoice", fields, create=created, update=updated)

    def cancellation(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """An original invoice and the SR that cancels it, as both read after cancelInvoice."""
        original = self.invoice(status="200")
        sent = datetime.fromisoformat(original["update"])
        latest = self.now or self.start + timedelta(seconds=self.span)  # never in the future of the data set
        created = iso(min(sent + timedelta(days=self.rng.uniform(0.1, 3)), max(sent, latest)))
        original.update(
            status="1000",
            paidAmount=0,
            payDate=None,
            enshrined=created,
            update=created,
        )
        negative = {
            name: number_str(-Decimal(str(original[name])))
            for name in ("sumNet", "sumTax", "sumGross", "sumNetAccounting", "sumTaxAccounting", "sumGrossAccounting")
        }
        number = self.number("RE-", "Invoice", "invoiceNumber")
        skip = {"id", "objectName", "create", "update", "sevClient"}
        fields = {key: value for key, value in original.items() if key not in skip}
        fields.update(
            negative,
            invoiceType="SR",
            invoiceNumber=number,
            header=f"Stornorechnung {number} zu Rechnung {original['invoiceNumber']}",
            origin=ref(original["id"], "Invoice"),
            status="1000",
            paidAmount=0,
            enshrined=created,
            invoiceDate=self.day_of(created),
            deliveryDate=self.day_of(created),
        )
        cancellation = self.insert("Invoice", fields, create=created, update=created)
        return original, cancellation


def generate(
    state: SandboxState,
    account_id: str,
    *,
    contacts: int = 0,
    suppliers: int = 0,
    parts: int = 0,
    orders: int = 0,
    invoices: int = 0,
    cancelled: int = 0,
    seed: int = 0,
    until: datetime | None = None,
    days: int = 365,
    backdate: bool = False,
) -> Generated:
    """Adds the records to the account (existing ones stay), stamped with the sandbox's now; with
    `backdate`, dated within `days` before `until` (default: one day ago). Orders and invoices need
    contacts: existing customers are used too."""
    with state.locked():
        account = state.account(account_id)
        end = until or (state.now() - timedelta(days=1))
        maker = _Maker(state, account, random.Random(seed), end - timedelta(days=days), end)
        if not backdate:
            maker.now = state.now()
            maker.start, maker.span = maker.now, 1.0
        maker.customers = [
            row
            for row in state.rows(account, "Contact")
            if isinstance(row.get("category"), dict) and str(row["category"].get("id")) == CUSTOMER
        ]
        for row in maker.customers:
            addresses = [
                a for a in state.rows(account, "ContactAddress") if (a.get("contact") or {}).get("id") == row["id"]
            ]
            maker.billing[row["id"]] = addresses[0] if addresses else {}
        start_index = len(state.rows(account, "Contact"))
        for index in range(contacts):
            maker.customers.append(maker.contact(start_index + index, CUSTOMER))
        for index in range(suppliers):
            maker.contact(start_index + contacts + index, SUPPLIER)
        first_part = len(state.rows(account, "Part")) + 1
        for index in range(parts):
            maker.part(first_part + index)
        if (orders or invoices or cancelled) and not maker.customers:
            raise ValueError("orders and invoices need customers: generate contacts first (or together)")
        for _ in range(orders):
            maker.order()
        for _ in range(invoices):
            maker.invoice()
        for _ in range(cancelled):
            maker.cancellation()
        return maker.out
