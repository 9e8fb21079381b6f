"""Issue 6 §3: with policy `update`, an e-mail, phone, mobile, website or delivery address that sevbridge
created and the platform has since removed is removed in sevDesk; what someone added there by hand
stays. Against the sandbox (its DELETE /CommunicationWay and /ContactAddress; 409 via a fault)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from sevdesk_sandbox import Fault
from tests.functional.push.builders import organisation
from tests.functional.push.conftest import PLATFORM, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]
HOFWEG = {"street": "Hofweg 7", "zip": "10117", "city": "Berlin", "country": "DE", "name": "Trainingsgelände"}
LAGER = {"street": "Lagerweg 2", "zip": "10117", "city": "Berlin", "country": "DE", "name": "Lager"}
FULL = organisation(
    emails=["buchhaltung@muster.example", "info@muster.example"],
    phone="+49 30 5550100",
    mobile="0171 5550100",
    website="https://www.muster.example/",
    delivery_addresses=[LAGER, HOFWEG],
)


def ways(tenant: Tenant) -> list[tuple[str, str]]:
    return sorted((w["type"], w["value"]) for w in tenant.objects("CommunicationWay"))


def delivery_streets(tenant: Tenant) -> list[str]:
    return sorted(a["street"] for a in tenant.objects("ContactAddress") if a["category"]["id"] == "48")


def by_hand(tenant: Tenant, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Someone edits the contact in sevDesk."""
    response = tenant.http.post(
        f"{tenant.sandbox.url}{path}", json=body, headers={"Authorization": tenant.account.token}
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"])


def contact_ref(tenant: Tenant) -> dict[str, str]:
    [contact] = tenant.contacts()
    return {"id": contact["id"], "objectName": "Contact"}


def test_what_the_platform_removed_is_removed_in_sevdesk(tenant: Tenant, version: Version) -> None:
    tenant.service().push_contact(FULL, version=version(), uncertain=False)
    assert len(ways(tenant)) == 5 and delivery_streets(tenant) == ["Hofweg 7", "Lagerweg 2"]
    trimmed = organisation(emails=["buchhaltung@muster.example"], website=None, delivery_addresses=[LAGER])

    outcome = tenant.service().push_contact(trimmed, version=version(), uncertain=False)

    assert outcome.action == "updated"
    assert ways(tenant) == [("EMAIL", "buchhaltung@muster.example")]
    assert delivery_streets(tenant) == ["Lagerweg 2"]
    billing = [a for a in tenant.objects("ContactAddress") if a["category"]["id"] == "47"]
    assert [a["street"] for a in billing] == ["Hauptstr. 5"]  # the invoice address is never removed
    for gone in ("email info@muster.example", "phone +49 30 5550100", "mobile 0171 5550100"):
        assert f"{gone} removed" in outcome.message
    assert "web https://www.muster.example/ removed" in outcome.message
    assert "delivery address Hofweg 7, Berlin removed" in outcome.message

    # Everything gone, the platform sends no delivery address at all: ours goes too.
    bare = organisation(emails=[], website=None, delivery_addresses=[])
    tenant.service().push_contact(bare, version=version(), uncertain=False)
    assert ways(tenant) == [] and delivery_streets(tenant) == []


def test_what_someone_added_by_hand_stays(tenant: Tenant, version: Version) -> None:
    tenant.service().push_contact(FULL, version=version(), uncertain=False)
    owner = contact_ref(tenant)
    by_hand(
        tenant,
        "/CommunicationWay",
        {"contact": owner, "type": "EMAIL", "value": "chef@muster.example", "key": {"id": 2}, "main": False},
    )
    # Even one with the same value as ours: only the one sevbridge created is ours.
    by_hand(
        tenant, "/CommunicationWay", {"contact": owner, "type": "PHONE", "value": "+49 30 5550100", "key": {"id": 2}}
    )
    by_hand(
        tenant,
        "/ContactAddress",
        {
            "contact": owner,
            "street": "Filiale 3",
            "zip": "80331",
            "city": "München",
            "country": {"id": 1, "objectName": "StaticCountry"},
            "category": {"id": 48, "objectName": "Category"},
        },
    )

    moved = {**LAGER, "street": "Neuer Lagerweg 4"}
    tenant.service().push_contact(
        organisation(emails=[], phone=None, website=None, delivery_addresses=[moved]),
        version=version(),
        uncertain=False,
    )

    assert ways(tenant) == [("EMAIL", "chef@muster.example"), ("PHONE", "+49 30 5550100")]
    # Our Lager address was rewritten in place, our Hofweg one removed; the hand-made Filiale untouched.
    assert delivery_streets(tenant) == ["Filiale 3", "Neuer Lagerweg 4"]


def test_policy_never_removes_nothing(tenant: Tenant, version: Version) -> None:
    tenant.service().push_contact(FULL, version=version(), uncertain=False)
    before = (ways(tenant), delivery_streets(tenant))
    outcome = tenant.service(contact_update_policy="never").push_contact(
        organisation(emails=[], delivery_addresses=[]), version=version(), uncertain=False
    )
    assert outcome.action == "unchanged"
    assert (ways(tenant), delivery_streets(tenant)) == before
    assert tenant.requests("DELETE", "/") == []


def test_a_refused_delete_is_kept_reported_and_not_tried_again(tenant: Tenant, version: Version) -> None:
    """sevDesk answers 409 for DELETEs of objects still in use (api-facts §2)."""
    tenant.service().push_contact(FULL, version=version(), uncertain=False)
    tenant.sandbox.state.add_fault(
        Fault(
            kind="status",
            status=409,
            account_id=tenant.account.account_id,
            method="DELETE",
            path_pattern="^/CommunicationWay/",
        )
    )
    without_info = organisation(emails=["buchhaltung@muster.example"], phone="+49 30 5550100", mobile="0171 5550100")

    outcome = tenant.service().push_contact(without_info, version=version(), uncertain=False)

    assert outcome.action == "updated"
    assert "email info@muster.example kept: sevDesk refused to delete it (still in use)" in outcome.message
    assert ("EMAIL", "info@muster.example") in ways(tenant)
    refused = len(tenant.requests("DELETE", "/CommunicationWay/"))
    # Another change later: the refused one is no longer treated as ours, so it is not tried again.
    tenant.service().push_contact(
        organisation(emails=["buchhaltung@muster.example"], phone="+49 30 5550199", mobile="0171 5550100"),
        version=version(),
        uncertain=False,
    )
    deleted = tenant.requests("DELETE", "/CommunicationWay/")[refused:]
    assert len(deleted) == 1 and ("EMAIL", "info@muster.example") in ways(tenant)


def test_a_contact_matched_in_sevdesk_owns_nothing_sevbridge_did_not_add(tenant: Tenant, version: Version) -> None:
    existing = tenant.sandbox.state.seed(
        tenant.account.account_id,
        "Contact",
        {"name": "Muster GmbH", "customerNumber": "K-10043", "category": {"id": "3"}, "status": "1000"},
    )
    tenant.sandbox.state.seed(
        tenant.account.account_id,
        "CommunicationWay",
        {"contact": existing["id"], "type": "EMAIL", "value": "alt@muster.example", "key": "2", "main": "1"},
    )
    settings = {"contact_matching": ["mapping", "customer_number"]}
    tenant.service(**settings).push_contact(
        organisation(emails=["neu@muster.example"]), version=version(), uncertain=False
    )
    tenant.service(**settings).push_contact(organisation(emails=[]), version=version(), uncertain=False)

    # Ours (neu@) is removed again; the one that was there before sevbridge (alt@) stays.
    assert ways(tenant) == [("EMAIL", "alt@muster.example"), ("WEB", "https://www.muster.example/")]


def test_rows_without_a_record_remove_nothing_then_start_one(tenant: Tenant, version: Version) -> None:
    """Mapping rows written before the record existed: nothing removed at first; from then on, what
    held the platform's data is taken as sevbridge's."""
    tenant.service().push_contact(FULL, version=version(), uncertain=False)
    row = tenant.mappings.get(PLATFORM, tenant.tenant_id, "contact", "org-1")
    assert row is not None
    tenant.mappings.put(PLATFORM, tenant.tenant_id, replace(row, owned_addresses=None, owned_ways=None))
    shorter = organisation(emails=["buchhaltung@muster.example"], phone="+49 30 5550100", delivery_addresses=[LAGER])

    tenant.service().push_contact(shorter, version=version(), uncertain=False)
    assert len(ways(tenant)) == 5 and len(delivery_streets(tenant)) == 2  # unknown: nothing removed

    tenant.service().push_contact(organisation(emails=[], delivery_addresses=[]), version=version(), uncertain=False)
    # Removed: what matched the platform's data at the first sync (buchhaltung@, the phone, Lager).
    # Kept: what did not match then (not known to be ours) and the website the platform still has.
    assert ways(tenant) == [
        ("EMAIL", "info@muster.example"),
        ("MOBILE", "0171 5550100"),
        ("WEB", "https://www.muster.example/"),
    ]
    assert delivery_streets(tenant) == ["Hofweg 7"]


def test_an_interrupted_create_claims_what_it_made(tenant: Tenant, version: Version) -> None:
    """The first attempt made the contact and some of its details, then failed; the retry finishes it
    and everything on it counts as sevbridge's."""
    tenant.sandbox.state.add_fault(
        Fault(
            kind="status",
            status=400,
            account_id=tenant.account.account_id,
            method="POST",
            path_pattern="^/CommunicationWay$",
            times=1,
        )
    )
    with pytest.raises(Exception):  # noqa: B017 - whichever error the refused write raises
        tenant.service().push_contact(FULL, version=version(), uncertain=False)
    finished = tenant.service().push_contact(FULL, version=version(), uncertain=True)
    assert finished.action == "created" and len(ways(tenant)) == 5

    tenant.service().push_contact(
        organisation(emails=[], website=None, delivery_addresses=[]), version=version(), uncertain=False
    )
    assert ways(tenant) == [] and delivery_streets(tenant) == []
