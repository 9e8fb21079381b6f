"""Write units per document, end to end (intake → worker → sevDesk → ledger), priced by the write meter
(tests/support/write_meter.py, DynamoDB's documented rules). Issue 10 §2; docs/ledger.md explains every
remaining write. Without a webhook endpoint (no outbox notices)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain
from tests.support.write_meter import WriteLog, metered

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
# The pointer, twice: queued (it carries the event id and body hash — no receipt item — and names the
# transfer as pending live) and the outcome (with the push's mapping). A live transfer's claim is a read;
# its document travels in its queue message, so there is no transfer item on this path.
LEDGER_PER_DOCUMENT = 2


def invoice_event(n: int, status: str = "sent") -> dict[str, Any]:
    return load_event(
        "platform-invoice-upserted.json",
        id=f"evt-inv-{n}-{status}",
        data__source_id=f"inv-{n}",
        data__number=f"PL-2026-{500 + n}",
        data__status=status,
    )


def measure(api: HandlerApiClient, aws: Any, event: dict[str, Any]) -> WriteLog:
    with metered() as meter:
        assert api.post(EVENTS, json_body=event).status == 202
        drain(aws)
    return meter.log


def ledger_units(log: WriteLog) -> int:
    return sum(units for table, units in log.by_table.items() if table.endswith("LedgerTable"))


def test_write_units_per_document(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    # The tenant's reference data (units, countries, …) is cached per tenant for a day (REFDATA item):
    # written once, not per document, so a first document warms it before anything is measured.
    measure(api, aws, invoice_event(0, status="paid"))  # (a paid one also loads the check accounts)
    contact = measure(api, aws, load_event("platform-contact-upserted.json", data__invoices=[]))
    measure(api, aws, invoice_event(1))  # the invoice's customer becomes known
    sent = measure(api, aws, invoice_event(2))
    paid = measure(api, aws, invoice_event(3, status="paid"))
    scenarios = {"contact": contact, "sent": sent, "paid": paid}
    report = "\n\n".join(f"{name}:\n{log.report()}" for name, log in scenarios.items())

    # One small item per state change, no index write on the way to `transferred`, no transaction.
    for log in (contact, sent, paid):
        assert not any(kind.startswith("gsi:") for kind in log.by_kind), report
        assert not any(kind.startswith("Transact") for kind in log.by_kind), report
    # The push's mapping lives on the document's ledger item, and the outcome write carries it: no write
    # of its own (was one PutItem into the tenants table per document). A new contact keeps one mapping
    # write before `POST /Contact` (the customer number it is created with: how a lost create is found
    # again). No receipt item: the pointer's first write carries the event id and body hash. No `sending`
    # write: a live transfer's claim is the worker's consistent read. No transfer item: the message carries
    # the document. Sent invoice: before issue 10 24, then 7, 6, 5 at the last stop (each branch alone), 3,
    # 2 now; new contact 8, 7, 6, 4 → 3.
    assert ledger_units(sent) == ledger_units(paid) == LEDGER_PER_DOCUMENT, report
    assert ledger_units(contact) == LEDGER_PER_DOCUMENT + 1, report
    assert "EVENT#" not in report and "TRANSFER#" not in report, report
    assert (sent.total, paid.total, contact.total) == (2, 2, 3), report
    print(report)
