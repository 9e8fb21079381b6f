"""Imports end to end through the real handlers (api, import worker), moto and the sevDesk sandbox:
what is imported, that every change is reported exactly once, what nothing-changed costs, deletions,
cancelled invoices and the flags."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sevbridge import wiring
from sevbridge.domain.pull.records import ImportKind
from sevbridge.domain.pull.runs import IndexEntry
from sevdesk_sandbox import Fault
from sevdesk_sandbox.generate import generate
from tests.functional.pull.conftest import PullTenant, by_sevdesk_id

pytestmark = pytest.mark.functional


def in_scope(tenant: PullTenant) -> dict[str, set[str]]:
    """What the import must report, computed from the sandbox's data directly."""
    contacts = {c["id"] for c in tenant.objects("Contact") if c["category"]["id"] == "3"}
    articles = {p["id"] for p in tenant.objects("Part") if (p.get("category") or {}).get("id") == "40"}
    invoices = {
        i["id"]
        for i in tenant.objects("Invoice")
        if i["invoiceType"] in ("RE", "AR", "TR", "ER") and i["status"] != "100"
    }
    return {"contacts": contacts, "articles": articles, "invoices": invoices}


def test_first_import_reports_every_record_once_and_then_nothing(tenant: PullTenant) -> None:
    generate(
        tenant.sandbox,
        tenant.account.account_id,
        contacts=60,
        suppliers=5,
        parts=25,
        invoices=80,
        seed=11,
        backdate=True,
    )
    expected = in_scope(tenant)

    run = tenant.import_now()
    assert run["state"] == "succeeded", run
    changes, cursor = tenant.feed()
    for kind, ids in expected.items():
        reported = by_sevdesk_id([c for c in changes if c["kind"] == kind])
        assert set(reported) == ids, kind
        assert {c["action"] for c in reported.values()} == {"created"}
        kind_run = next(k for k in run["kinds"] if k["kind"] == kind)
        assert kind_run["counts"]["created"] == len(ids) and kind_run["full"] is True  # the first pass reads all
    assert run["counts"]["created"] == sum(len(ids) for ids in expected.values())
    assert run["requests"] == 3 and run["duration_ms"] is not None  # one page per kind at this size
    contact = next(c for c in changes if c["kind"] == "contacts")
    assert contact["record"]["record_type"] == "contact" and contact["sevdesk_updated_at"]

    # Nothing changed in sevDesk: one request per kind, no change, whatever the account's size.
    before = tenant.sevdesk_requests()
    again = tenant.import_now()
    assert again["state"] == "succeeded"
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["deleted"]) == (0, 0, 0)
    assert again["requests"] == 3 and tenant.sevdesk_requests() - before == 3
    assert all(not k["full"] for k in again["kinds"])
    assert tenant.feed(after=cursor)[0] == []


def test_records_generated_after_the_first_import_come_with_the_next_incremental_one(tenant: PullTenant) -> None:
    """Like records someone creates in sevDesk, generated ones are stamped now (review: the sandbox
    backdated them, so the README's second generate never showed in an incremental import)."""
    generate(tenant.sandbox, tenant.account.account_id, contacts=5, backdate=True, seed=40)
    tenant.import_now()
    _, cursor = tenant.feed()
    before = {c["id"] for c in tenant.objects("Contact")}
    generate(tenant.sandbox, tenant.account.account_id, contacts=4, seed=41)
    new = {c["id"] for c in tenant.objects("Contact") if c["category"]["id"] == "3"} - before

    run = tenant.import_now()
    assert run["state"] == "succeeded" and not any(k["full"] for k in run["kinds"] if k["kind"] == "contacts")
    reported = by_sevdesk_id([c for c in tenant.feed(after=cursor)[0] if c["kind"] == "contacts"])
    assert new and set(reported) == new
    assert {c["action"] for c in reported.values()} == {"created"}


def test_edits_in_sevdesk_come_back_exactly_once(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=20, invoices=20, seed=3, backdate=True)
    tenant.import_now()
    _, cursor = tenant.feed()
    customer = next(
        c
        for c in tenant.objects("Contact")
        if any(a["contact"]["id"] == c["id"] and a["category"]["id"] == "48" for a in tenant.objects("ContactAddress"))
    )
    delivery = [
        a
        for a in tenant.objects("ContactAddress")
        if a["contact"]["id"] == customer["id"] and a["category"]["id"] == "48"
    ]
    tenant.delete("ContactAddress", delivery[0]["id"])  # an address removed in sevDesk …
    tenant.change("Contact", customer["id"], description="neue Notiz")  # … with an edit of the contact
    new = tenant.seed("Contact", name="Neukunde AG", category={"id": 3}, status=1000, customerNumber="99001")
    invoice = next(i for i in tenant.objects("Invoice") if i["status"] == "200")
    tenant.change("Invoice", invoice["id"], status="1000", paidAmount=float(invoice["sumGross"]))

    run = tenant.import_now()
    changes = by_sevdesk_id(tenant.feed(after=cursor)[0])
    assert set(changes) == {customer["id"], new["id"], invoice["id"]}
    updated = changes[customer["id"]]
    assert (updated["action"], updated["record"]["description"]) == ("updated", "neue Notiz")
    assert len(updated["record"]["delivery_addresses"]) == len(delivery) - 1
    assert changes[new["id"]]["action"] == "created"
    assert (changes[invoice["id"]]["action"], changes[invoice["id"]]["record"]["status"]) == ("updated", "paid")
    assert (run["counts"]["created"], run["counts"]["updated"]) == (1, 2)
    # Imported again: nothing new (the overlap window re-reads the edits, the index knows them).
    _, cursor = tenant.feed()
    tenant.import_now()
    assert tenant.feed(after=cursor)[0] == []


def test_deletions_reported_once_and_only_by_a_complete_reconciliation(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=15, parts=5, invoices=15, seed=5, backdate=True)
    tenant.import_now()
    _, cursor = tenant.feed()
    billed = {i["contact"]["id"] for i in tenant.objects("Invoice")}
    # sevDesk refuses to delete a contact that has invoices (409): take one without.
    gone_contact = next(c for c in tenant.objects("Contact") if c["category"]["id"] == "3" and c["id"] not in billed)
    gone_invoice = next(i for i in tenant.objects("Invoice") if i["status"] == "200")
    gone_part = next(p for p in tenant.objects("Part") if (p.get("category") or {}).get("id") == "40")
    for name, row in (("Invoice", gone_invoice), ("Contact", gone_contact), ("Part", gone_part)):
        tenant.delete(name, row["id"])

    # An incremental import cannot know about deletions.
    tenant.import_now()
    assert tenant.feed(after=cursor)[0] == []

    # A reconciliation whose invoice pass fails reports the contact and part, never the invoice.
    tenant.sandbox.add_fault(
        Fault(kind="status", status=400, path_pattern="^/Invoice$", account_id=tenant.account.account_id, times=None)
    )
    failed = tenant.import_now(full=True)
    tenant.sandbox.clear_faults()
    assert failed["state"] == "failed" and "invoices" in failed["error"]
    invoices = next(k for k in failed["kinds"] if k["kind"] == "invoices")
    assert (invoices["phase"], invoices["counts"]["deleted"]) == ("failed", 0)
    changes = by_sevdesk_id(tenant.feed(after=cursor)[0])
    assert set(changes) == {gone_contact["id"], gone_part["id"]}
    assert all(c["action"] == "deleted" and c["record"] is None and c["flags"] == [] for c in changes.values())

    _, cursor = tenant.feed()
    done = tenant.import_now(full=True)
    assert done["state"] == "succeeded"
    assert [c["sevdesk_id"] for c in tenant.feed(after=cursor)[0]] == [gone_invoice["id"]]
    _, cursor = tenant.feed()
    tenant.import_now(full=True)
    assert tenant.feed(after=cursor)[0] == []  # once


def test_records_leaving_the_imported_set_are_reported_deleted_out_of_scope(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=5, parts=3, seed=6, backdate=True)
    tenant.import_now()
    _, cursor = tenant.feed()
    supplier = next(c for c in tenant.objects("Contact") if c["category"]["id"] == "3")
    tenant.change("Contact", supplier["id"], category={"id": "2", "objectName": "Category"})
    part = next(p for p in tenant.objects("Part") if (p.get("category") or {}).get("id") == "40")
    tenant.change("Part", part["id"], category=None)
    tenant.import_now(full=True)
    changes = by_sevdesk_id(tenant.feed(after=cursor)[0])
    assert set(changes) == {supplier["id"], part["id"]}
    assert all(c["action"] == "deleted" and c["flags"] == ["out_of_scope"] for c in changes.values())


def test_articles_have_no_update_filter_and_are_diffed_by_content(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, parts=12, seed=8, backdate=True)
    tenant.import_now(kinds=["articles"])
    _, cursor = tenant.feed()
    part = next(p for p in tenant.objects("Part") if (p.get("category") or {}).get("id") == "40")
    # An edit that leaves `update` alone still shows: parts are compared by content on every import.
    tenant.sandbox.change(tenant.account.account_id, "Part", part["id"], {"priceNet": "9.99"}, update=part["update"])
    run = tenant.import_now(kinds=["articles"])
    changes = tenant.feed(after=cursor)[0]
    assert [(c["sevdesk_id"], c["action"], c["record"]["net_price"]) for c in changes] == [
        (part["id"], "updated", "9.99")
    ]
    assert run["kinds"][0]["counts"]["read"] == 12


def cancel_in_sevdesk(tenant: PullTenant, invoice: dict[str, Any]) -> dict[str, Any]:
    """What sevDesk shows after cancelInvoice (api-facts §10), seeded through the admin seed API."""
    stamp = tenant.change(
        "Invoice", invoice["id"], status="1000", paidAmount=0, payDate=None, enshrined="2026-01-01T00:00:00+01:00"
    )["update"]
    fields = {k: v for k, v in invoice.items() if k not in ("id", "objectName", "create", "update", "sevClient")}
    fields.update(
        invoiceType="SR",
        invoiceNumber=f"SR-{invoice['invoiceNumber']}",
        origin={"id": invoice["id"], "objectName": "Invoice"},
        status="1000",
        paidAmount=0,
        sumNet="-" + invoice["sumNet"],
        sumGross="-" + invoice["sumGross"],
        enshrined=stamp,
        update=stamp,
        create=stamp,
    )
    return tenant.seed("Invoice", **fields)


def test_a_cancelled_invoice_reads_cancelled_never_paid(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=5, invoices=6, cancelled=1, seed=9, backdate=True)
    run = tenant.import_now(kinds=["invoices"])
    changes, cursor = tenant.feed()
    cancellations = [i for i in tenant.objects("Invoice") if i["invoiceType"] == "SR"]
    assert len(cancellations) == 1
    original = cancellations[0]["origin"]["id"]
    reported = by_sevdesk_id(changes)
    assert cancellations[0]["id"] not in reported  # an SR is never the platform's invoice
    assert reported[original]["record"]["status"] == "cancelled"
    assert reported[original]["record"]["cancelled_by_sevdesk_id"] == cancellations[0]["id"]
    assert run["state"] == "succeeded"

    # An open invoice imported earlier and cancelled now: updated, cancelled.
    invoice = next(i for i in tenant.objects("Invoice") if i["status"] == "200")
    sr = cancel_in_sevdesk(tenant, invoice)
    tenant.import_now(kinds=["invoices"])
    later = tenant.feed(after=cursor)[0]
    assert [(c["sevdesk_id"], c["action"], c["record"]["status"]) for c in later] == [
        (invoice["id"], "updated", "cancelled")
    ]
    assert later[0]["record"]["cancelled_by_sevdesk_id"] == sr["id"]
    assert later[0]["record"]["paid_amount"] == "0.00"


def test_a_cancelled_original_whose_cancellation_is_on_another_page(tenant: PullTenant, small_pages: Any) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=5, invoices=1, seed=10, backdate=True)
    invoice = next(i for i in tenant.objects("Invoice"))
    tenant.change("Invoice", invoice["id"], status="200")
    generate(tenant.sandbox, tenant.account.account_id, invoices=25, seed=12, backdate=True)  # pushes the SR to page 3
    sr = cancel_in_sevdesk(tenant, {**invoice, "status": "200", "invoiceNumber": invoice["invoiceNumber"] or "X-1"})
    tenant.import_now(kinds=["invoices"])
    reported = by_sevdesk_id(tenant.feed(kind="invoices")[0])
    assert reported[invoice["id"]]["record"]["status"] == "cancelled"
    assert sr["id"] not in reported
    assert not any(c["record"]["status"] == "paid" and c["record"]["paid_amount"] == "0.00" for c in reported.values())


def test_invoice_without_customer_email_is_imported_and_flagged_unassignable(tenant: PullTenant) -> None:
    person = tenant.seed("Contact", surename="Ohne", familyname="Mail", category={"id": 3}, status=1000)
    invoice = tenant.seed(
        "Invoice",
        contact={"id": person["id"]},
        invoiceNumber="RE-5001",
        status=200,
        sumNet=100,
        sumGross=119,
        invoiceDate="2026-01-05T00:00:00+01:00",
        addressStreet="Weg 1",
        addressZip="12345",
        addressCity="Ort",
    )
    run = tenant.import_now(kinds=["invoices"])
    (change,) = tenant.feed(kind="invoices")[0]
    assert change["sevdesk_id"] == invoice["id"] and change["flags"] == ["unassignable"]
    assert change["record"]["customer"]["email"] is None and change["record"]["customer"]["last_name"] == "Mail"
    assert run["counts"]["flagged"] == 1


def test_order_confirmations_on_demand_with_positions(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=5, parts=5, orders=12, seed=4, backdate=True)
    scheduled_kinds = tenant.import_now()
    assert "order_confirmations" not in {k["kind"] for k in scheduled_kinds["kinds"]}  # not configured
    run = tenant.import_now(kinds=["order_confirmations"])
    expected = {o["id"] for o in tenant.objects("Order") if o["orderType"] == "AB" and o["status"] != "100"}
    changes = by_sevdesk_id(tenant.feed(kind="order_confirmations")[0])
    assert set(changes) == expected and expected
    order = next(iter(changes.values()))["record"]
    positions = [p for p in tenant.objects("OrderPos") if p["order"]["id"] == next(iter(changes))]
    assert len(order["positions"]) == len(positions)
    assert all(p["unit"]["name"] and p["article"]["number"] for p in order["positions"])
    assert run["requests"] == 1 + len(expected)  # the list, then positions of each new confirmation
    # Nothing changed: the list only (positions are not read again for an unchanged `update`).
    assert tenant.import_now(kinds=["order_confirmations"])["requests"] == 1


def test_a_tenant_connected_again_gets_everything_whatever_was_left_behind(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=6, seed=13, backdate=True)
    tenant.import_now(kinds=["contacts"])
    assert tenant.api.delete(f"/v1/tenants/{tenant.tenant_id}").status == 200
    # An import still running while the tenant was offboarded wrote index entries after the erase.
    customer = next(c for c in tenant.objects("Contact") if c["category"]["id"] == "3")
    stale = [
        IndexEntry(
            kind=ImportKind.CONTACTS, sevdesk_id=i, record_hash="stale", run_id="im_old", observed_at=datetime.now(UTC)
        )
        for i in (customer["id"], "999999")
    ]
    wiring.import_store().index_apply(tenant.platform_id, tenant.tenant_id, stale, [])
    connected = tenant.api.put(
        f"/v1/tenants/{tenant.tenant_id}/connection", json_body={"sevdesk_token": tenant.account.token}
    )
    assert connected.status == 201
    tenant.import_now(kinds=["contacts"])
    changes = by_sevdesk_id(tenant.feed()[0])
    assert {c["action"] for c in changes.values()} == {"created"}
    assert customer["id"] in changes and "999999" not in changes
    assert "999999" not in wiring.import_store().index_all(tenant.platform_id, tenant.tenant_id, ImportKind.CONTACTS)
