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
LEDGER_PER_DOCUMENT = 4  # transfer item, pointer x3 (queued — it carries the event id —, sending, outcome)


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


def mapping_units(log: WriteLog) -> int:
    return sum(units for table, units in log.by_table.items() if table.endswith("TenantsTable"))


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

    # The ledger's share: one small item per state change, no index write on the way to `transferred`.
    for log in (contact, sent, paid):
        assert ledger_units(log) == LEDGER_PER_DOCUMENT, report
        assert not any(kind.startswith("gsi:") for kind in log.by_kind), report
        assert not any(kind.startswith("Transact") for kind in log.by_kind), report
    # End to end, the push's mapping rows (TenantsTable) come on top: one put per invoice, written once at
    # the end of the push (no "create in flight" row: the ledger's claim covers that window), and two per
    # new contact (the row with the customer number before the create, the result after). Was 24 / 7.
    assert mapping_units(sent) == mapping_units(paid) == 1, report
    assert mapping_units(contact) == 2, report
    # No receipt item: the pointer's first write carries the event id and body hash (was 6 / 6 / 7).
    assert "EVENT#" not in report, report
    assert (sent.total, paid.total, contact.total) == (5, 5, 6), report
    print(report)
