"""I1-I5 against the sevDesk sandbox: skip rules, units, payload, status following, booking once,
draft content updates and locked content."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest

from sevbridge.domain.push.service import PushRefused
from sevbridge.domain.sevdesk_errors import SevdeskNetworkError
from sevdesk_sandbox import Fault
from tests.functional.push.builders import invoice, person, position
from tests.functional.push.conftest import PLATFORM, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]


def _positions(tenant: Tenant, invoice_id: str) -> list[tuple[str, str, str, str, str]]:
    rows = [p for p in tenant.objects("InvoicePos") if p["invoice"]["id"] == invoice_id]
    rows.sort(key=lambda p: int(p["positionNumber"]))
    return [(p["name"], p["quantity"], p["unity"]["id"], p["price"], p["taxRate"]) for p in rows]


def test_sent_invoice_is_created_opened_and_carries_customer_and_address(tenant: Tenant, version: Version) -> None:
    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    [contact] = tenant.contacts()
    assert outcome.action == "created"
    assert outcome.message == "invoice created in sevDesk as draft and sent (RE-inv-1)"
    assert (outcome.sevdesk_id, outcome.sevdesk_number, outcome.contact_sevdesk_id) == (
        inv["id"],
        "RE-inv-1",
        contact["id"],
    )
    assert (inv["status"], inv["invoiceNumber"], inv["contact"]["id"]) == ("200", "RE-inv-1", contact["id"])
    assert inv["header"] == "Rechnung RE-inv-1"
    assert inv["customerInternalNote"].startswith("sevbridge:") and inv["customerInternalNote"].endswith(":inv-1")
    assert inv["address"] == "Dr. Erika Mustermann\nMusterstraße 1\n12345 Musterstadt"
    assert inv["addressCountry"]["id"] == "1"
    assert inv["contactPerson"]["id"] == tenant.account.sev_user_id
    assert (inv["taxRule"]["id"], inv["showNet"], inv["currency"]) == ("1", "1", "EUR")
    assert inv["deliveryDate"] == inv["invoiceDate"]  # no delivery date given: the invoice date
    # "h" → Std (9), "Stück" → Stk (1); net prices, 2×100 @19 % + 1×25 @7 %.
    assert _positions(tenant, inv["id"]) == [
        ("Beratung", "2", "9", "100", "19.00"),
        ("Fachbuch", "1", "1", "25", "7.00"),
    ]
    assert (inv["sumNet"], inv["sumGross"]) == ("225", "264.75")
    [save] = tenant.requests("POST", "/Invoice/Factory/saveInvoice")
    assert save.json["takeDefaultAddress"] is False
    assert save.json["invoice"]["status"] == "100"


def test_automatic_draft_is_skipped(tenant: Tenant, version: Version) -> None:
    outcome = tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=False)
    assert (outcome.action, outcome.message) == (
        "skipped",
        "draft: transferred when it leaves draft, or on manual request",
    )
    assert tenant.invoices() == [] and tenant.contacts() == []


def test_automatic_transfer_off_skips_but_manual_transfers(tenant: Tenant, version: Version) -> None:
    service = tenant.service(auto_transfer=False)
    skipped = service.push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert (skipped.action, skipped.message) == ("skipped", "automatic transfer is off")
    assert tenant.invoices() == []

    manual = service.push_invoice(invoice(), version=version(), uncertain=False, manual=True)
    assert manual.action == "created" and tenant.invoices()[0]["status"] == "200"


def test_manual_transfer_of_a_draft_from_an_old_year_stays_draft(tenant: Tenant, version: Version) -> None:
    draft = invoice(status="draft", number=None, invoice_date=date(2019, 3, 1), title="Altauftrag")
    outcome = tenant.service().push_invoice(draft, version=version(), uncertain=False, manual=True)

    [inv] = tenant.invoices()
    assert outcome.message == "invoice created in sevDesk as draft"
    assert (inv["status"], inv["invoiceNumber"], inv["header"]) == ("100", None, "Altauftrag")


def test_paid_invoice_is_booked_once_even_when_pushed_twice(tenant: Tenant, version: Version) -> None:
    paid = invoice(status="paid")
    first = tenant.service().push_invoice(paid, version=version(), uncertain=False, manual=False)
    again = tenant.service().push_invoice(paid, version=version(), uncertain=False, manual=False)

    assert first.message == "invoice created in sevDesk as draft, sent and payment booked (RE-inv-1)"
    assert again.action == "unchanged"
    [inv] = tenant.invoices()
    assert (inv["status"], Decimal(str(inv["paidAmount"]))) == ("1000", Decimal("264.75"))
    [booking] = tenant.requests("PUT", f"/Invoice/{inv['id']}/bookAmount")
    assert booking.json["type"] == "FULL_PAYMENT"
    assert booking.json["amount"] == 264.75  # sumGross read back from sevDesk
    kasse = next(a for a in tenant.objects("CheckAccount") if a["type"] == "offline")
    # sevDesk reads back string ids; requests send integers, as its spec types them
    assert booking.json["checkAccount"] == {"id": int(kasse["id"]), "objectName": "CheckAccount"}
    assert len(tenant.objects("CheckAccountTransaction")) == 1


def test_payment_uses_platform_amount_date_and_check_account(tenant: Tenant, version: Version) -> None:
    bank = next(a for a in tenant.objects("CheckAccount") if a["type"] == "offline")
    paid = invoice(status="paid", paid_at=date(2025, 7, 3), paid_amount="264.75")
    tenant.service(check_account_id=bank["id"]).push_invoice(paid, version=version(), uncertain=False, manual=False)

    [inv] = tenant.invoices()
    [booking] = tenant.requests("PUT", f"/Invoice/{inv['id']}/bookAmount")
    assert booking.json["amount"] == 264.75
    assert datetime.fromtimestamp(booking.json["date"]).date() == date(2025, 7, 3)
    assert inv["payDate"].startswith("2025-07-03")


def test_booking_with_unknown_outcome_is_never_repeated(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(
            kind="timeout_after_commit",
            account_id=tenant.account.account_id,
            method="PUT",
            path_pattern="/bookAmount$",
            delay_seconds=1.5,
        )
    )
    with pytest.raises(SevdeskNetworkError) as failure:
        tenant.service(settle=False).push_invoice(
            invoice(status="paid"), version=version(), uncertain=False, manual=False
        )
    assert failure.value.outcome_unknown

    outcome = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=True, manual=False)

    assert outcome.action == "unchanged"
    [inv] = tenant.invoices()
    assert inv["status"] == "1000"
    assert len(tenant.requests("PUT", f"/Invoice/{inv['id']}/bookAmount")) == 1
    assert len(tenant.objects("CheckAccountTransaction")) == 1


def test_status_follows_draft_to_sent_to_paid(tenant: Tenant, version: Version) -> None:
    service = tenant.service()
    service.push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=True)
    assert tenant.invoices()[0]["status"] == "100"

    sent = tenant.service().push_invoice(invoice(status="sent"), version=version(), uncertain=False, manual=False)
    assert (sent.action, sent.message) == ("updated", "invoice RE-inv-1 updated in sevDesk: sent")
    assert tenant.invoices()[0]["status"] == "200"

    paid = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)
    assert (paid.action, paid.message) == ("updated", "invoice RE-inv-1 updated in sevDesk: payment booked")
    assert tenant.invoices()[0]["status"] == "1000"


def test_sent_back_to_draft_resets_in_sevdesk(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    outcome = tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=False)

    assert outcome.message == "invoice RE-inv-1 updated in sevDesk: reset to draft"
    assert tenant.invoices()[0]["status"] == "100"


def test_paid_invoice_can_not_go_back_to_draft(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)
    with pytest.raises(PushRefused, match="invoice RE-inv-1 is already paid in sevDesk; it can't be reset to draft"):
        tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=False)


def test_payment_booked_in_sevdesk_is_not_undone_by_a_sent_event(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)
    outcome = tenant.service().push_invoice(invoice(status="sent"), version=version(), uncertain=False, manual=False)
    assert outcome.action == "unchanged" and "already paid in sevDesk" in outcome.message
    assert tenant.invoices()[0]["status"] == "1000"


def test_draft_content_is_updated_in_place(tenant: Tenant, version: Version) -> None:
    created = tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=True)
    changed = invoice(
        status="draft",
        invoice_date=date(2025, 7, 2),
        positions=[
            position("Beratung", quantity="3.5"),
            position("Anfahrt", quantity="12", unit="km", unit_price="0.30"),
        ],
    )
    outcome = tenant.service().push_invoice(changed, version=version(), uncertain=False, manual=True)

    assert (outcome.action, outcome.sevdesk_id) == ("updated", created.sevdesk_id)
    assert outcome.message == "invoice RE-inv-1 updated in sevDesk: content updated"
    [inv] = tenant.invoices()
    assert inv["status"] == "100" and inv["invoiceDate"].startswith("2025-07-02")
    assert _positions(tenant, inv["id"]) == [
        ("Beratung", "3.5", "9", "100", "19.00"),
        ("Anfahrt", "12", "10", "0.3", "19.00"),
    ]
    [update] = tenant.requests("POST", "/Invoice/Factory/saveInvoice")[1:]
    assert update.json["invoice"]["id"] == int(inv["id"])
    assert [d["objectName"] for d in update.json["invoicePosDelete"]] == ["InvoicePos", "InvoicePos"]


def test_content_change_of_a_sent_invoice_is_refused(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    changed = invoice(positions=[position(quantity="5")])
    with pytest.raises(PushRefused) as refused:
        tenant.service().push_invoice(changed, version=version(), uncertain=False, manual=False)

    assert refused.value.message == (
        "invoice RE-inv-1 is already open in sevDesk; its content can't be changed there. "
        "Cancel it in sevDesk (Stornieren) and send a new invoice."
    )
    assert len(tenant.objects("InvoicePos")) == 2


def test_same_amounts_written_differently_are_not_a_change(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    same = invoice(
        positions=[
            position(quantity="2.000", unit_price="100"),
            position("Fachbuch", quantity="1", unit="Stück", unit_price="25.00", tax_rate="7.0"),
        ]
    )
    outcome = tenant.service().push_invoice(same, version=version(), uncertain=False, manual=False)
    assert outcome.action == "unchanged"


def test_new_customer_address_does_not_block_a_sent_invoice(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    moved = person(billing_address={"street": "Umzugweg 3", "zip": "99999", "city": "Neuort", "country": "DE"})
    outcome = tenant.service().push_invoice(
        invoice(status="paid", customer=moved), version=version(), uncertain=False, manual=False
    )

    assert outcome.action == "updated" and "payment booked" in outcome.message
    assert "not applied to a document that is no longer a draft" in outcome.message
    assert tenant.invoices()[0]["address"].endswith("12345 Musterstadt")


def test_invoice_number_conflict_is_reported(tenant: Tenant, version: Version) -> None:
    other = tenant.sandbox.state.seed(
        tenant.account.account_id,
        "Invoice",
        {"invoiceNumber": "RE-inv-1", "status": "200", "customerInternalNote": "Bestellung 4711"},
    )
    with pytest.raises(PushRefused) as refused:
        tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)

    assert f"invoice number RE-inv-1 already exists in sevDesk (invoice id {other['id']})" in refused.value.message
    assert refused.value.details == [
        {"invoice_number": "RE-inv-1", "sevdesk_id": other["id"], "problem": "number taken"}
    ]
    assert len(tenant.invoices()) == 1 and tenant.contacts() == []


def test_missing_unit_refuses_before_anything_is_created(tenant: Tenant, version: Version) -> None:
    odd = invoice(positions=[position(unit="Palette"), position("Kiste", unit="Kiste"), position("Std", unit="Std.")])
    with pytest.raises(PushRefused) as refused:
        tenant.service().push_invoice(odd, version=version(), uncertain=False, manual=False)

    message = refused.value.message
    assert "units 'Palette', 'Kiste' not found in sevDesk" in message
    assert "Einstellungen → Artikel/Produkte → Einheiten" in message and "unit_mapping" in message
    assert tenant.contacts() == [] and tenant.invoices() == []
    assert tenant.objects("ContactCustomFieldSetting") == []


def test_unit_mapping_setting_maps_platform_units(tenant: Tenant, version: Version) -> None:
    odd = invoice(positions=[position(unit="Palette"), position("Kiste", unit="kiste")])
    tenant.service(unit_mapping={"Palette": "Stk", "Kiste": "C62"}).push_invoice(
        odd, version=version(), uncertain=False, manual=False
    )
    [inv] = tenant.invoices()
    assert [p[2] for p in _positions(tenant, inv["id"])] == ["1", "1"]


def test_tenant_specific_unit_is_matched_by_name(tenant: Tenant, version: Version) -> None:
    own = tenant.sandbox.state.seed(
        tenant.account.account_id, "Unity", {"name": "Palette", "translationCode": None, "uneceTradeUnitCode": None}
    )
    tenant.service().push_invoice(
        invoice(positions=[position(unit="palette")]), version=version(), uncertain=False, manual=False
    )
    assert [p[2] for p in _positions(tenant, tenant.invoices()[0]["id"])] == [own["id"]]


def test_existing_customer_is_reused_and_invoice_carries_its_own_address(tenant: Tenant, version: Version) -> None:
    contact = tenant.service().push_contact(person(), version=version(), uncertain=False)
    moved = person(billing_address={"street": "Umzugweg 3", "zip": "99999", "city": "Neuort", "country": "AT"})

    outcome = tenant.service(contact_update_policy="never").push_invoice(
        invoice(customer=moved), version=version(), uncertain=False, manual=False
    )

    assert outcome.contact_sevdesk_id == contact.sevdesk_id
    assert len(tenant.contacts()) == 1
    inv = tenant.invoices()[0]
    assert inv["address"] == "Dr. Erika Mustermann\nUmzugweg 3\n99999 Neuort"
    assert inv["addressCountry"]["id"] == "3"
    # Policy never: the contact's own address stays as it was.
    [address] = tenant.objects("ContactAddress")
    assert address["city"] == "Musterstadt"


def test_stale_invoice_version_is_skipped(tenant: Tenant, version: Version) -> None:
    older, newer = version(), version()
    tenant.service().push_invoice(invoice(status="paid"), version=newer, uncertain=False, manual=False)
    outcome = tenant.service().push_invoice(invoice(status="draft"), version=older, uncertain=False, manual=False)
    assert outcome.action == "skipped" and outcome.message.startswith("stale: a newer version")
    assert tenant.invoices()[0]["status"] == "1000"


def test_marker_is_unique_per_tenant(tenant: Tenant, version: Version) -> None:
    """Two tenants (or platforms) sharing one sevDesk account don't adopt each other's invoices."""
    other = Tenant(tenant.sandbox, tenant.account, tenant.mappings, tenant.http, tenant_id="other-tenant")
    tenant.service().push_invoice(invoice(number=None), version=version(), uncertain=False, manual=False)
    other.service().push_invoice(invoice(number=None), version=version(), uncertain=True, manual=False)
    markers = {i["customerInternalNote"] for i in tenant.invoices()}
    assert len(markers) == 2 and all(m.endswith(":inv-1") for m in markers)
    assert PLATFORM not in "".join(markers)  # scoped by a hash, not by spelling out ids


def test_paid_invoice_without_an_offline_check_account_is_refused_before_creating(
    tenant: Tenant, version: Version
) -> None:
    state = tenant.sandbox.state
    account = state.account(tenant.account.account_id)
    for row in tenant.objects("CheckAccount"):
        if row["type"] == "offline":
            state.delete(account, "CheckAccount", row["id"])

    with pytest.raises(PushRefused, match="no offline \\(cash register\\) check account; set `check_account_id`"):
        tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)
    assert tenant.invoices() == [] and tenant.contacts() == []


def test_contact_person_from_settings(tenant: Tenant, version: Version) -> None:
    clerk = tenant.sandbox.state.seed(tenant.account.account_id, "SevUser", {"username": "clerk", "fullname": "Clerk"})
    tenant.service(sevdesk_user_id=clerk["id"]).push_invoice(
        invoice(), version=version(), uncertain=False, manual=False
    )
    assert tenant.invoices()[0]["contactPerson"]["id"] == clerk["id"]


def test_skipped_draft_does_not_call_sevdesk(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=False)
    assert tenant.sandbox.state.requests(tenant.account.account_id) == []


def test_renumbering_a_draft_to_a_taken_number_is_refused(tenant: Tenant, version: Version) -> None:
    tenant.service().push_invoice(invoice(status="draft"), version=version(), uncertain=False, manual=True)
    other = tenant.sandbox.state.seed(tenant.account.account_id, "Invoice", {"invoiceNumber": "RE-77", "status": "200"})

    with pytest.raises(
        PushRefused, match=f"invoice number RE-77 already exists in sevDesk \\(invoice id {other['id']}\\)"
    ):
        tenant.service().push_invoice(
            invoice(status="draft", number="RE-77"), version=version(), uncertain=False, manual=True
        )
    assert [i["invoiceNumber"] for i in tenant.invoices()] == ["RE-inv-1", "RE-77"]


def test_sub_cent_unit_price_is_sent_exactly_and_summed_by_sevdesk(tenant: Tenant, version: Version) -> None:
    """0.0125 €/kWh × 10 000 kWh is 125 € net; rounding the price to cents would make it 100 €."""
    kwh = tenant.sandbox.state.seed(
        tenant.account.account_id, "Unity", {"name": "kWh", "translationCode": None, "uneceTradeUnitCode": "KWH"}
    )
    energy = invoice(positions=[position("Strom", quantity="10000", unit="kWh", unit_price="0.0125", tax_rate="19")])
    outcome = tenant.service().push_invoice(energy, version=version(), uncertain=False, manual=False)

    assert outcome.action == "created"
    [save] = tenant.requests("POST", "/Invoice/Factory/saveInvoice")
    [sent] = save.json["invoicePosSave"]
    assert (sent["quantity"], sent["price"], sent["taxRate"]) == (10000, 0.0125, 19)
    assert Decimal(str(sent["price"])) == Decimal("0.0125")
    [inv] = tenant.invoices()
    assert _positions(tenant, inv["id"]) == [("Strom", "10000", kwh["id"], "0.0125", "19.00")]
    assert (Decimal(inv["sumNet"]), Decimal(inv["sumTax"]), Decimal(inv["sumGross"])) == (
        Decimal("125"),
        Decimal("23.75"),
        Decimal("148.75"),
    )
