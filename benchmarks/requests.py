"""sevDesk requests per document (issue 10 §1), counted in the sandbox's request log.

`measure_requests()` pushes each scenario through the real push path (PushService → SevdeskGateway →
SevdeskClient over HTTP to the sevDesk sandbox, mapping rows and the reference-data store in moto's
DynamoDB) and returns, per scenario, the requests made with the tenant's reference data
- warm: cached in the process (a warm Lambda container),
- container_cold: not in the process but in the tenants table (a new container),
- cold: nowhere (first document after a day without any, or after a rejected request),
next to a naive baseline written the way workflow tools (Make, Zapier, n8n) do it — search the contact,
create it, one call per address / communication way / position, status by separate calls, a re-read
after each write — run against the same sandbox, and the floor and target from the issue.
docs/requests.md explains every remaining request. benchmarks/run.py calls this (owned elsewhere).

    .venv/bin/python -m benchmarks.requests        # prints the table as JSON
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "layers/sevbridge", ROOT / "local"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

TABLE = "sevbridge-bench-requests"
PLATFORM = "bench"
TODAY = date(2025, 7, 15)

# From issue 10: what the push path cost before, the floor the API allows, the target.
BEFORE = {"sent_known": 5, "paid_known": 9, "new_person_sent": 12, "contact_unchanged": 1}
FLOOR = {"sent_known": 2, "paid_known": 3, "new_person_sent": 6, "contact_unchanged": 0}
TARGET = {"sent_known": 3, "paid_known": 4, "new_person_sent": 8, "contact_unchanged": 0}
TITLES = {
    "sent_known": "sent invoice, known customer",
    "paid_known": "paid invoice, known customer",
    "new_person_sent": "new person with address + e-mail + sent invoice",
    "contact_unchanged": "contact event with nothing changed",
}


def templated(calls: list[str]) -> list[str]:
    return [re.sub(r"/\d+(?=/|$|\?)", "/{id}", call) for call in calls]


# --- documents --------------------------------------------------------------------------------


def _person(source_id: str) -> Any:
    from sevbridge.domain.events import Contact

    return Contact.model_validate(
        {
            "source_id": source_id,
            "kind": "person",
            "first_name": "Erika",
            "last_name": f"Muster-{source_id}",
            "emails": [f"{source_id}@example.org"],
            "billing_address": {"street": "Musterstraße 1", "zip": "12345", "city": "Musterstadt", "country": "DE"},
        }
    )


def _invoice(source_id: str, customer: Any, *, paid: bool = False) -> Any:
    from sevbridge.domain.events import Invoice

    data: dict[str, Any] = {
        "source_id": source_id,
        "number": f"RE-{source_id}",
        "status": "paid" if paid else "sent",
        "invoice_date": date(2025, 7, 1),
        "customer": customer.model_dump(),
        "positions": [
            {"name": "Beratung", "quantity": "2", "unit": "h", "unit_price": "100.00", "tax_rate": "19"},
            {"name": "Fachbuch", "quantity": "1", "unit": "Stück", "unit_price": "25", "tax_rate": "7"},
        ],
    }
    if paid:
        data.update(paid_amount=Decimal("264.75"), paid_at=date(2025, 7, 10))
    return Invoice.model_validate(data)


# --- the world --------------------------------------------------------------------------------


@dataclass
class World:
    state: Any
    server: Any
    http: Any
    mappings: Any
    cache: Any
    versions: Iterator[datetime]

    def tenant(self, name: str) -> Bench:
        account = self.state.create_account(name=f"{name} GmbH")
        return Bench(self, account, tenant_id=f"t-{account.account_id}")


@dataclass
class Bench:
    world: World
    account: Any
    tenant_id: str

    def calls(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.world.state.requests(self.account.account_id)]

    def service(self) -> Any:
        from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
        from sevbridge.adapters.sevdesk.gateway import build_push_service
        from sevbridge.domain.push.service import Patience
        from sevbridge.domain.settings import TenantSettings

        client = SevdeskClient(
            self.account.token,
            base_url=self.world.server.url,
            tenant_key=f"{PLATFORM}#{self.tenant_id}",
            http=self.world.http,
            timeout=5.0,
            brake=ErrorBrake(max_errors=1000),
        )
        return build_push_service(
            client,
            PLATFORM,
            self.tenant_id,
            TenantSettings(),
            TODAY,
            mappings=self.world.mappings,
            reference_cache=self.world.cache,
            patience=Patience(sleep=lambda _: None),
        )

    def measure(self, push: Callable[[Any], Any]) -> list[str]:
        start = len(self.calls())
        push(self.service())
        return templated(self.calls()[start:])

    def forget_process_cache(self) -> None:
        self.world.cache.reset()

    def forget_all_caches(self) -> None:
        self.world.cache.forget(f"{PLATFORM}#{self.tenant_id}")
        self.world.cache.reset()


@contextmanager
def world() -> Iterator[World]:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    import httpx
    from moto import mock_aws

    from local_stack import moto_fixes
    from sevbridge.adapters import aws_clients
    from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
    from sevbridge.adapters.sevdesk.reference_cache import ReferenceCache
    from sevbridge.adapters.sevdesk.reference_store import DynamoReferenceStore
    from sevdesk_sandbox import SandboxState, serve

    moto_fixes.apply()
    state = SandboxState()
    server = serve(state, host="127.0.0.1", port=0)
    base = datetime(2025, 7, 1, tzinfo=UTC)
    try:
        with mock_aws(), httpx.Client() as http:
            aws_clients.reset()
            boto3.client("dynamodb").create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            cache = ReferenceCache(store=DynamoReferenceStore(TABLE))
            versions = (base + timedelta(minutes=i) for i in range(1, 1_000_000))
            yield World(state, server, http, DynamoMappingStore(TABLE, TABLE), cache, versions)
            aws_clients.reset()
    finally:
        server.shutdown()


# --- sevbridge's path -------------------------------------------------------------------------


def _push_invoice(world: World, document: Any) -> Callable[[Any], Any]:
    def push(service: Any) -> Any:
        outcome = service.push_invoice(document, version=next(world.versions), uncertain=False, manual=False)
        assert outcome.action == "created", outcome.message
        return outcome

    return push


def _push_contact(world: World, contact: Any, action: str) -> Callable[[Any], Any]:
    def push(service: Any) -> Any:
        outcome = service.push_contact(contact, version=next(world.versions), uncertain=False)
        assert outcome.action == action, outcome.message
        return outcome

    return push


def _three_ways(bench_for: Callable[[str], tuple[Bench, Callable[[Any], Any]]]) -> dict[str, list[str]]:
    """The same scenario measured warm, in a new container (store warm) and fully cold."""
    measured: dict[str, list[str]] = {}
    for mode in ("warm", "container_cold", "cold"):
        bench, push = bench_for(mode)
        if mode == "container_cold":
            bench.forget_process_cache()
        elif mode == "cold":
            bench.forget_all_caches()
        measured[mode] = bench.measure(push)
    return measured


def sevbridge_requests(w: World) -> dict[str, dict[str, list[str]]]:
    def known(paid: bool) -> Callable[[str], tuple[Bench, Callable[[Any], Any]]]:
        def prepare(mode: str) -> tuple[Bench, Callable[[Any], Any]]:
            bench = w.tenant(mode)
            customer = _person("c-1")
            bench.measure(_push_invoice(w, _invoice("warm-up", customer, paid=True)))  # customer + cache
            return bench, _push_invoice(w, _invoice("measured", customer, paid=paid))

        return prepare

    def new_person(mode: str) -> tuple[Bench, Callable[[Any], Any]]:
        bench = w.tenant(mode)
        bench.measure(_push_invoice(w, _invoice("warm-up", _person("c-0"))))
        return bench, _push_invoice(w, _invoice("measured", _person("c-1")))

    def unchanged(mode: str) -> tuple[Bench, Callable[[Any], Any]]:
        bench = w.tenant(mode)
        bench.measure(_push_contact(w, _person("c-1"), "created"))
        return bench, _push_contact(w, _person("c-1"), "unchanged")

    return {
        "sent_known": _three_ways(known(paid=False)),
        "paid_known": _three_ways(known(paid=True)),
        "new_person_sent": _three_ways(new_person),
        "contact_unchanged": _three_ways(unchanged),
    }


# --- the naive baseline -----------------------------------------------------------------------


class Naive:
    """A workflow tool's sevDesk steps: every step its own call, every write read back."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.http = bench.world.http
        self.base = bench.world.server.url
        self.headers = {"Authorization": bench.account.token}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.base + path, headers=self.headers, **kwargs)
        response.raise_for_status()
        objects = response.json().get("objects")
        return objects[0] if isinstance(objects, list) and objects and "/Factory/" not in path else objects

    def _first(self, path: str, params: dict[str, Any]) -> Any:
        response = self.http.get(self.base + path, headers=self.headers, params=params)
        response.raise_for_status()
        rows = response.json().get("objects") or []
        return rows[0] if rows else None

    def find_contact(self, name: str) -> Any:
        return self._first("/Contact", {"name": name, "depth": 1})

    def create_person(self, contact: Any) -> str:
        created = self._call(
            "POST",
            "/Contact",
            json={
                "surename": contact.first_name,
                "familyname": contact.last_name,
                "category": {"id": 3, "objectName": "Category"},
            },
        )
        contact_id = str(created["id"])
        self._call("GET", f"/Contact/{contact_id}")
        country = self._first("/StaticCountry", {"code": "de"})
        address = contact.billing_address
        made = self._call(
            "POST",
            "/ContactAddress",
            json={
                "contact": {"id": int(contact_id), "objectName": "Contact"},
                "street": address.street,
                "zip": address.zip,
                "city": address.city,
                "country": {"id": int(country["id"]), "objectName": "StaticCountry"},
                "category": {"id": 47, "objectName": "Category"},
            },
        )
        self._call("GET", f"/ContactAddress/{made['id']}")
        for email in contact.emails:
            way = self._call(
                "POST",
                "/CommunicationWay",
                json={
                    "contact": {"id": int(contact_id), "objectName": "Contact"},
                    "type": "EMAIL",
                    "value": email,
                    "key": {"id": 1, "objectName": "CommunicationWayKey"},
                    "main": True,
                },
            )
            self._call("GET", f"/CommunicationWay/{way['id']}")
        return contact_id

    def invoice(self, document: Any, contact_id: str, *, paid: bool) -> None:
        user = self._first("/SevUser", {})
        country = self._first("/StaticCountry", {"code": "de"})
        header = {
            "objectName": "Invoice",
            "mapAll": True,
            "invoiceNumber": document.number,
            "invoiceDate": "01.07.2025",
            "deliveryDate": "01.07.2025",
            "contact": {"id": int(contact_id), "objectName": "Contact"},
            "contactPerson": {"id": int(user["id"]), "objectName": "SevUser"},
            "addressCountry": {"id": int(country["id"]), "objectName": "StaticCountry"},
            "address": "Erika Muster\nMusterstraße 1\n12345 Musterstadt",
            "status": 100,
            "invoiceType": "RE",
            "currency": "EUR",
            "taxRule": {"id": 1, "objectName": "TaxRule"},
            "taxText": "Umsatzsteuer",
            "taxType": "default",
            "discount": 0,
            "showNet": True,
        }
        invoice_id: str | None = None
        for line in document.positions:
            unit = self._first("/Unity", {"name": "Stk"})  # one look-up per position
            position = {
                "objectName": "InvoicePos",
                "mapAll": True,
                "name": line.name,
                "quantity": float(line.quantity),
                "price": float(line.unit_price),
                "taxRate": float(line.tax_rate),
                "unity": {"id": int(unit["id"]), "objectName": "Unity"},
            }
            body: dict[str, Any] = {"invoice": header, "invoicePosSave": [position]}
            if invoice_id is not None:
                body["invoice"] = {**header, "id": int(invoice_id)}
            saved = self._call("POST", "/Invoice/Factory/saveInvoice", json=body)
            invoice_id = str(saved["invoice"]["id"])
            self._call("GET", f"/Invoice/{invoice_id}")
        assert invoice_id is not None
        self._call("PUT", f"/Invoice/{invoice_id}/sendBy", json={"sendType": "VPDF", "sendDraft": False})
        self._call("GET", f"/Invoice/{invoice_id}")
        if paid:
            account = self._first("/CheckAccount", {})
            self._call(
                "PUT",
                f"/Invoice/{invoice_id}/bookAmount",
                json={
                    "amount": 264.75,
                    "date": 1752148800,
                    "type": "FULL_PAYMENT",
                    "checkAccount": {"id": int(account["id"]), "objectName": "CheckAccount"},
                    "createFeed": False,
                },
            )
            self._call("GET", f"/Invoice/{invoice_id}")

    def update_contact(self, contact: Any) -> None:
        found = self.find_contact(contact.last_name)
        contact_id = str(found["id"])
        self._call("PUT", f"/Contact/{contact_id}", json={"surename": contact.first_name})
        self._call("GET", f"/Contact/{contact_id}")
        address = self._first("/ContactAddress", {"contact[id]": contact_id, "contact[objectName]": "Contact"})
        self._call("PUT", f"/ContactAddress/{address['id']}", json={"street": contact.billing_address.street})
        self._call("GET", f"/ContactAddress/{address['id']}")
        self._first("/CommunicationWay", {"contact[id]": contact_id, "contact[objectName]": "Contact"})


def naive_requests(w: World) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}

    def run(name: str, body: Callable[[Naive], None], prepare: Callable[[Naive], None] | None = None) -> None:
        naive = Naive(w.tenant(f"naive-{name}"))
        if prepare is not None:
            prepare(naive)
        start = len(naive.bench.calls())
        body(naive)
        result[name] = templated(naive.bench.calls()[start:])

    customer = _person("c-1")

    def known_customer(naive: Naive) -> None:
        naive.create_person(customer)

    def sent_known(naive: Naive) -> None:
        naive.invoice(_invoice("measured", customer), str(naive.find_contact(customer.last_name)["id"]), paid=False)

    def paid_known(naive: Naive) -> None:
        naive.invoice(_invoice("measured", customer), str(naive.find_contact(customer.last_name)["id"]), paid=True)

    def new_person(naive: Naive) -> None:
        if naive.find_contact(customer.last_name) is None:
            naive.invoice(_invoice("measured", customer), naive.create_person(customer), paid=False)

    run("sent_known", sent_known, known_customer)
    run("paid_known", paid_known, known_customer)
    run("new_person_sent", new_person)
    run("contact_unchanged", lambda naive: naive.update_contact(customer), known_customer)
    return result


# --- the report -------------------------------------------------------------------------------


def measure_requests() -> dict[str, Any]:
    """Per scenario: requests (count and list) warm / in a new container / cold, the naive baseline,
    the issue's before / floor / target, and whether the target holds (warm)."""
    with world() as w:
        ours = sevbridge_requests(w)
        naive = naive_requests(w)
    scenarios: dict[str, Any] = {}
    for name, modes in ours.items():
        warm = len(modes["warm"])
        scenarios[name] = {
            "title": TITLES[name],
            "warm": warm,
            "container_cold": len(modes["container_cold"]),
            "cold": len(modes["cold"]),
            "naive": len(naive[name]),
            "before": BEFORE[name],
            "floor": FLOOR[name],
            "target": TARGET[name],
            "target_met": warm <= TARGET[name],
            "vs_naive": round(warm / len(naive[name]), 2) if naive[name] else None,
            "vs_floor": round(warm / FLOOR[name], 2) if FLOOR[name] else None,
            "requests": modes,
            "naive_requests": naive[name],
        }
    return {"scenarios": scenarios}


if __name__ == "__main__":
    print(json.dumps(measure_requests(), indent=2))
