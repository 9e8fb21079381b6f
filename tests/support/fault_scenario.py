"""The "push under sevDesk faults" scenario (issue 6 §1), shared by the suite (small, in-process) and
`make bench` (3 tenants x 100 documents on the local stack).

Per tenant: contacts, and invoices sent, paid, left in draft, turned from draft to sent, sent twice under
the same event id, sent twice under a new event id (same source id), and one that sevDesk refuses (a
tax rate its tax rule does not allow: a genuine 422). `check()` compares what sevDesk and the ledger hold
at the end with what the platform sent and lists every difference.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

BASE_TIME = datetime(2026, 11, 1, 9, 0, 0)
# Invoice kinds in the order they repeat; "refused" is added once per tenant.
KINDS = ("sent", "paid", "draft", "draft_then_sent", "sent_twice_same_event", "sent_twice_new_event")
# sevDesk's status for what the platform's last event says.
STATUS_IN_SEVDESK = {"sent": "200", "paid": "1000"}


# The outside review answered its 429s with `Retry-After: 2`: longer than the worker waits in place, so
# each one pauses the tenant's work in the queue while the other tenants go on.
RETRY_AFTER_SECONDS = 2


def fault_mix(account_id: str, *, seed: int, retry_after: float | None = RETRY_AFTER_SECONDS) -> list[dict[str, Any]]:
    """The issue's mix for one sandbox account: 10 % 5xx, 5 % 429 (with Retry-After), 10 % of writes
    dropped after commit."""
    return [
        {"kind": "status", "status": 503, "probability": 0.10, "seed": seed, "account_id": account_id},
        {
            "kind": "rate_limit",
            "retry_after": retry_after,
            "probability": 0.05,
            "seed": seed + 1,
            "account_id": account_id,
        },
        {
            "kind": "drop_after_commit",
            "method": "POST",
            "probability": 0.10,
            "seed": seed + 2,
            "account_id": account_id,
        },
        {"kind": "drop_after_commit", "method": "PUT", "probability": 0.10, "seed": seed + 3, "account_id": account_id},
    ]


@dataclass
class TenantWorkload:
    """The events one tenant's platform sends, in the order it sends them, and what must hold after."""

    tenant_id: str
    first_batches: list[list[dict[str, Any]]] = field(default_factory=list)  # sent first, 100 at most each
    later_events: list[dict[str, Any]] = field(default_factory=list)  # re-sent / updated afterwards, one by one
    contacts: set[str] = field(default_factory=set)
    final_status: dict[str, str] = field(default_factory=dict)  # invoice source id → sent/paid/draft/refused
    documents: int = 0

    @property
    def event_count(self) -> int:
        return sum(len(b) for b in self.first_batches) + len(self.later_events)


def _contact(tenant_id: str, i: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "source_id": f"{tenant_id}-c{i}",
        "emails": [f"kunde{i}@{tenant_id}.example"],
        "phone": f"+49 30 {1000 + i}",
        "billing_address": {"street": f"Weg {i}", "zip": "10115", "city": "Berlin", "country": "DE"},
    }
    if i % 2:
        data.update(kind="organisation", company_name=f"Kunde {i} GmbH", customer_number=f"{tenant_id}-K{i}")
    else:
        data.update(kind="person", first_name="Erika", last_name=f"Muster{i}")  # sevDesk picks the number
    return data


def _invoice(tenant_id: str, i: int, status: str, customer: dict[str, Any]) -> dict[str, Any]:
    refused = status == "refused"
    data: dict[str, Any] = {
        "source_id": f"{tenant_id}-i{i}",
        "number": f"{tenant_id}-R{i}",
        "status": "sent" if refused else status,
        "invoice_date": "2026-11-02",
        "customer": customer,
        "positions": [
            {"name": "Kurs", "quantity": str(1 + i % 3), "unit": "h", "unit_price": "45.50", "tax_rate": "19"},
            {"name": "Material", "quantity": "1", "unit": "Stk", "unit_price": "9.90", "tax_rate": "7"},
        ],
    }
    if status == "paid":
        data["paid_at"] = "2026-11-05"
    if refused:
        data["tax_rule"] = 11  # small business: no VAT allowed, yet the positions carry 19 % and 7 %
    return data


def _event(event_id: str, event_type: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "occurred_at": at.isoformat() + "+01:00", "data": copy.deepcopy(data)}


def build_workload(tenant_id: str, documents: int) -> TenantWorkload:
    """`documents` contacts and invoices for one tenant: a tenth contacts, the rest invoices of KINDS
    in turn, plus one invoice sevDesk refuses."""
    work = TenantWorkload(tenant_id=tenant_id, documents=documents)
    contact_count = max(2, documents // 10)
    contacts = [_contact(tenant_id, i) for i in range(contact_count)]
    first: list[dict[str, Any]] = []
    at = BASE_TIME
    for contact in contacts:
        at += timedelta(seconds=1)
        first.append(_event(f"{contact['source_id']}-v1", "contact.upserted", at, contact))
        work.contacts.add(contact["source_id"])
    for i in range(documents - contact_count):
        kind = "refused" if i == 0 else KINDS[i % len(KINDS)]
        customer = contacts[i % contact_count]
        at += timedelta(seconds=1)
        if kind == "draft_then_sent":
            draft = _invoice(tenant_id, i, "draft", customer)
            first.append(_event(f"{tenant_id}-e{i}-draft", "invoice.upserted", at, draft))
            sent = {**draft, "status": "sent"}
            work.later_events.append(
                _event(f"{tenant_id}-e{i}-sent", "invoice.upserted", at + timedelta(hours=1), sent)
            )
            work.final_status[draft["source_id"]] = "sent"
            continue
        invoice = _invoice(tenant_id, i, "sent" if kind.startswith("sent_twice") else kind, customer)
        event = _event(f"{tenant_id}-e{i}", "invoice.upserted", at, invoice)
        first.append(event)
        if kind == "sent_twice_same_event":
            work.later_events.append(copy.deepcopy(event))  # the platform retries: same id, same body
        elif kind == "sent_twice_new_event":
            work.later_events.append({**copy.deepcopy(event), "id": f"{tenant_id}-e{i}-again"})
        work.final_status[invoice["source_id"]] = kind if kind in ("paid", "draft", "refused") else "sent"
    work.first_batches = [first[start : start + 100] for start in range(0, len(first), 100)]
    return work


@dataclass
class Verdict:
    """Every way the end state differs from what the platform sent; empty lists mean it all holds."""

    tenant_id: str
    invoices: int = 0
    payments: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # in sevDesk although they must not be (drafts, refused)
    wrong_status: list[str] = field(default_factory=list)
    payments_wrong: list[str] = field(default_factory=list)
    contacts_missing: list[str] = field(default_factory=list)
    contacts_duplicated: list[str] = field(default_factory=list)
    failed_wrongly: list[str] = field(default_factory=list)  # failed, but not a genuine sevDesk refusal
    refused_not_failed: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)  # still queued / sending / waiting

    @property
    def problems(self) -> dict[str, list[str]]:
        return {name: value for name, value in vars(self).items() if isinstance(value, list) and value}


def check(
    work: TenantWorkload,
    transfers: list[dict[str, Any]],
    objects: Callable[[str], list[dict[str, Any]]],
) -> Verdict:
    """`transfers`: the tenant's ledger (GET …/transfers items); `objects(name)`: the sandbox account's
    sevDesk objects of that type."""
    verdict = Verdict(work.tenant_id)
    marker_tail = {source_id: source_id for source_id in work.final_status}
    by_source: dict[str, list[dict[str, Any]]] = {}
    for invoice in objects("Invoice"):
        note = str(invoice.get("customerInternalNote") or "")
        source_id = note.rsplit(":", 1)[-1]
        if source_id in marker_tail:
            by_source.setdefault(source_id, []).append(invoice)
        else:
            verdict.unexpected.append(f"invoice {invoice['id']} ({note or 'no marker'})")
    verdict.invoices = sum(len(v) for v in by_source.values())
    bookings = Counter(str(t.get("paymtPurpose") or "") for t in objects("CheckAccountTransaction"))
    for source_id, want in sorted(work.final_status.items()):
        found = by_source.get(source_id, [])
        if want in ("draft", "refused"):
            verdict.unexpected += [f"{source_id} ({want})" for _ in found]
            continue
        if not found:
            verdict.missing.append(source_id)
            continue
        if len(found) > 1:
            verdict.duplicated.append(f"{source_id} x{len(found)}")
        invoice = found[0]
        if str(invoice.get("status")) != STATUS_IN_SEVDESK[want]:
            verdict.wrong_status.append(f"{source_id}: {invoice.get('status')}, platform says {want}")
        if want == "paid":
            verdict.payments += 1
            booked = bookings.get(str(invoice.get("invoiceNumber")), 0)
            paid, gross = Decimal(str(invoice.get("paidAmount") or 0)), Decimal(str(invoice.get("sumGross") or 0))
            if booked != 1 or paid != gross:
                verdict.payments_wrong.append(f"{source_id}: booked {booked}x, paid {paid} of {gross}")
    contacts = Counter(
        str(f.get("value") or "").split(":", 1)[-1]
        for f in objects("ContactCustomField")
        if str(f.get("value") or "").split(":", 1)[-1] in work.contacts
    )
    verdict.contacts_missing = sorted(c for c in work.contacts if contacts[c] == 0)
    verdict.contacts_duplicated = sorted(f"{c} x{n}" for c, n in contacts.items() if n > 1)
    in_sevdesk = len(objects("Contact"))  # a lost create adopted twice would have no link: count them all
    if in_sevdesk != len(work.contacts):
        verdict.contacts_duplicated.append(
            f"{in_sevdesk} contacts in sevDesk for {len(work.contacts)} platform contacts"
        )
    for transfer in transfers:
        source_id, status = transfer["source_id"], transfer["status"]
        refused = work.final_status.get(source_id) == "refused"
        if status in ("queued", "sending", "waiting_for_credentials"):
            verdict.unsettled.append(f"{source_id}: {status}")
        elif status == "failed" and not (refused and "sevDesk refused" in (transfer.get("reason") or "")):
            verdict.failed_wrongly.append(f"{source_id}: {transfer.get('reason')}")
        elif refused and status != "failed":
            verdict.refused_not_failed.append(f"{source_id}: {status}")
    return verdict


def count_by_fault(requests: list[dict[str, Any]]) -> dict[str, int]:
    """Requests of a sandbox request log (as JSON) per injected fault kind ("none" for the clean ones)."""
    return dict(Counter(str(r.get("fault") or "none") for r in requests))
