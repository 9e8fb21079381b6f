"""M7 through the real handlers: what the platform pushed comes back only when someone edits it in
sevDesk (with the platform's source_id), never as an echo of sevbridge's own write; both sides changed
since the last sync → flagged `conflict`, the newer side named; invoices the platform pushed come back
when sevDesk moves them on (paid there), and a number the platform used elsewhere is flagged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from sevdesk_sandbox.clock import iso
from tests.functional.pull.conftest import PullTenant, by_sevdesk_id
from tests.support.events import load_event
from tests.support.ledger_items import forget_transfer_items
from tests.support.worker import drain_until_empty, make_retries_immediate

pytestmark = pytest.mark.functional


def contact_event(version: str, occurred_at: datetime, **data: Any) -> dict[str, Any]:
    event = load_event("platform-contact-upserted.json")
    event["id"] = f"evt-{data.get('source_id', 'cust-1001')}-{version}"
    event["occurred_at"] = occurred_at.isoformat()
    event["data"] = {**event["data"], "invoices": [], **data}
    return event


def push(tenant: PullTenant, *events: dict[str, Any], transfer: bool = True) -> None:
    result = tenant.api.post(f"/v1/tenants/{tenant.tenant_id}/events", json_body={"events": list(events)})
    assert result.status == 202, result.body
    if transfer:
        make_retries_immediate(tenant.stack)
        drain_until_empty(tenant.stack, "TransferQueue")


def sevdesk_id_of(tenant: PullTenant, customer_number: str) -> str:
    return next(c["id"] for c in tenant.objects("Contact") if c["customerNumber"] == customer_number)


@pytest.fixture
def now() -> datetime:
    return datetime.now().astimezone()


def test_pushed_contacts_come_back_only_when_edited_in_sevdesk(tenant: PullTenant, now: datetime) -> None:
    tenant.seed("Contact", name="Schon Da GmbH", category={"id": 3}, status=1000, customerNumber="5")
    push(tenant, contact_event("v1", now - timedelta(minutes=10)))
    pushed = sevdesk_id_of(tenant, "K-1001")

    tenant.import_now(kinds=["contacts"])
    first, cursor = tenant.feed()
    assert pushed not in by_sevdesk_id(first)  # sevbridge created it: no echo, not "created"
    assert [c["record"]["organisation_name"] for c in first] == ["Schon Da GmbH"]

    # The platform changes the contact; sevbridge writes the change; the import stays quiet.
    push(tenant, contact_event("v2", now - timedelta(minutes=5), notes="Neuer Vermerk", phone="+49 30 7777777"))
    assert next(c for c in tenant.objects("Contact") if c["id"] == pushed)["description"] == "Neuer Vermerk"
    tenant.import_now(kinds=["contacts"])
    assert tenant.feed(after=cursor)[0] == []

    # Someone edits it in sevDesk: it comes back once, as an update carrying the platform's id.
    tenant.change("Contact", pushed, name="Hundeschule Bello & Co. GmbH")
    tenant.import_now(kinds=["contacts"])
    (change,) = tenant.feed(after=cursor)[0]
    assert (change["sevdesk_id"], change["action"], change["source_id"]) == (pushed, "updated", "cust-1001")
    assert change["record"]["organisation_name"] == "Hundeschule Bello & Co. GmbH"
    assert change["record"]["emails"] == ["buchhaltung@bello.example"] and change["flags"] == []
    _, cursor = tenant.feed()
    tenant.import_now(kinds=["contacts"])
    assert tenant.feed(after=cursor)[0] == []


def test_sevbridge_write_onto_a_contact_with_more_data_is_no_echo(tenant: PullTenant, now: datetime) -> None:
    push(tenant, contact_event("v1", now - timedelta(minutes=10)))
    pushed = sevdesk_id_of(tenant, "K-1001")
    tenant.import_now(kinds=["contacts"])
    _, cursor = tenant.feed()
    # Someone adds a second e-mail by hand (reported), then the platform pushes a change: the contact in
    # sevDesk now holds more than sevbridge wrote, and that write must still not come back.
    earlier = iso(tenant.sandbox.now() - timedelta(minutes=2))
    tenant.seed(
        "CommunicationWay",
        contact={"id": pushed},
        type="EMAIL",
        value="chef@bello.example",
        key={"id": 2},
        main=False,
        create=earlier,
        update=earlier,
    )
    tenant.change("Contact", pushed, minutes_later=-2, description="Key account since 2019")  # touches `update`
    tenant.import_now(kinds=["contacts"])
    (by_hand,) = tenant.feed(after=cursor)[0]
    assert by_hand["record"]["emails"] == ["buchhaltung@bello.example", "chef@bello.example"]
    _, cursor = tenant.feed()
    push(tenant, contact_event("v2", now - timedelta(minutes=1), notes="Zahlt pünktlich"))
    tenant.import_now(kinds=["contacts"])
    assert tenant.feed(after=cursor)[0] == []


@pytest.mark.parametrize("newer", ["sevdesk", "platform"])
def test_both_sides_changed_is_a_conflict_and_the_newer_wins(tenant: PullTenant, now: datetime, newer: str) -> None:
    push(tenant, contact_event("v1", now - timedelta(minutes=30)))
    pushed = sevdesk_id_of(tenant, "K-1001")
    tenant.import_now(kinds=["contacts"])
    _, cursor = tenant.feed()
    # The platform changed the contact (its transfer has not run yet) and so did someone in sevDesk.
    platform_time = now + (timedelta(minutes=5) if newer == "platform" else timedelta(minutes=-5))
    push(tenant, contact_event("v2", platform_time, notes="vom Portal"), transfer=False)
    edited = tenant.change("Contact", pushed, minutes_later=1, description="aus sevDesk")
    tenant.import_now(kinds=["contacts"])
    (change,) = tenant.feed(after=cursor)[0]
    assert change["flags"] == ["conflict"] and change["source_id"] == "cust-1001"
    conflict = change["conflict"]
    assert conflict["winner"] == newer
    assert datetime.fromisoformat(conflict["sevdesk_updated_at"]) == datetime.fromisoformat(edited["update"])
    assert datetime.fromisoformat(conflict["platform_updated_at"]) == platform_time
    run = tenant.run(tenant.api.get(f"/v1/tenants/{tenant.tenant_id}/imports").json["items"][0]["run_id"])
    assert run["counts"]["flagged"] == 1


@pytest.mark.parametrize("carrier", ["contact", "invoice"])
def test_a_pending_transfer_with_no_item_still_makes_a_conflict(
    tenant: PullTenant, now: datetime, carrier: str
) -> None:
    """A live transfer's document travels in its queue message: its pointer alone says it is pending
    (`live`), and an invoice's pointer names its customer (`cust`). The platform's pending version of
    the contact comes from there, so both sides changed is still a conflict."""
    push(tenant, contact_event("v1", now - timedelta(minutes=30)))
    pushed = sevdesk_id_of(tenant, "K-1001")
    tenant.import_now(kinds=["contacts"])
    _, cursor = tenant.feed()
    platform_time = now + timedelta(minutes=5)
    if carrier == "contact":
        pending = contact_event("v2", platform_time, notes="vom Portal")
    else:  # an invoice of that customer, carrying the contact's newer version
        customer = contact_event("v2", platform_time, notes="vom Portal")["data"]
        del customer["invoices"]
        pending = load_event("platform-invoice-upserted.json", id="evt-inv-pending", data__customer=customer)
        pending["occurred_at"] = platform_time.isoformat()
    push(tenant, pending, transfer=False)
    # A live transfer has no item (its document travels in its message): only the pointers know it.
    assert forget_transfer_items(tenant.tenant_id) == 0
    edited = tenant.change("Contact", pushed, minutes_later=1, description="aus sevDesk")
    tenant.import_now(kinds=["contacts"])
    (change,) = tenant.feed(after=cursor)[0]
    assert change["flags"] == ["conflict"] and change["source_id"] == "cust-1001"
    assert change["conflict"]["winner"] == "platform"
    assert datetime.fromisoformat(change["conflict"]["sevdesk_updated_at"]) == datetime.fromisoformat(edited["update"])
    assert datetime.fromisoformat(change["conflict"]["platform_updated_at"]) == platform_time


def test_pushed_invoices_come_back_when_sevdesk_moves_them_on(tenant: PullTenant) -> None:
    tenant.api.put(f"/v1/tenants/{tenant.tenant_id}/connection", json_body={"settings": {"unit_mapping": {"h": "Std"}}})
    push(tenant, load_event("platform-invoice-upserted.json"))
    pushed = next(i for i in tenant.objects("Invoice") if i["invoiceNumber"] == "PL-2026-020")
    assert pushed["status"] == "200"
    # Someone else's invoice in sevDesk with the number the platform used for its own document.
    customer = tenant.seed("Contact", name="Andere GmbH", category={"id": 3}, status=1000)
    tenant.seed("CommunicationWay", contact={"id": customer["id"]}, type="EMAIL", value="a@b.example", key={"id": 2})
    clash = tenant.seed(
        "Invoice", contact={"id": customer["id"]}, invoiceNumber="PL-2026-020", status=200, sumGross=10, sumNet=10
    )
    tenant.import_now(kinds=["invoices"])
    changes, cursor = tenant.feed(kind="invoices")
    reported = by_sevdesk_id(changes)
    assert pushed["id"] not in reported  # sevbridge's own invoice, as it left it: no echo
    assert reported[clash["id"]]["flags"] == ["duplicate_number"] and reported[clash["id"]]["source_id"] is None

    tenant.change("Invoice", pushed["id"], status="1000", paidAmount=float(pushed["sumGross"]))  # paid in sevDesk
    tenant.import_now(kinds=["invoices"])
    (paid,) = tenant.feed(after=cursor, kind="invoices")[0]
    assert (paid["sevdesk_id"], paid["action"], paid["source_id"]) == (pushed["id"], "updated", "inv-2026-020")
    assert paid["record"]["status"] == "paid" and paid["record"]["customer"]["source_id"] == "cust-2002"


def test_sevbridge_writes_are_recognised_even_when_sevdesks_clock_runs_ahead(tenant: PullTenant, now: datetime) -> None:
    push(tenant, contact_event("v1", now - timedelta(minutes=10)))
    pushed = sevdesk_id_of(tenant, "K-1001")
    # sevDesk stamped sevbridge's write ten minutes "later" than sevbridge's clock says it wrote.
    tenant.change("Contact", pushed, minutes_later=10)
    tenant.import_now(kinds=["contacts"])
    assert tenant.feed()[0] == []  # the content is exactly what sevbridge wrote: its own write
