"""Few sevDesk calls per document (sevDesk may block tokens that make many calls, failing ones above
all), counted in the sandbox's request log: reference data comes from a per-tenant cache, a known
customer whose data did not change is only checked to exist, and the cache never crosses tenants."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
from sevbridge.adapters.sevdesk.reference_cache import ReferenceCache, default_reference_cache
from sevbridge.domain.push.service import PushRefused
from sevdesk_sandbox import Fault, SandboxServer, SandboxState
from tests.functional.push.builders import invoice, person, position
from tests.functional.push.conftest import PLATFORM, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]
REFERENCE_READS = {
    "GET /Unity",
    "GET /StaticCountry",
    "GET /SevUser",
    "GET /Category",
    "GET /ContactCustomFieldSetting",
}


def _templated(calls: list[str]) -> list[str]:
    return [re.sub(r"/\d+", "/{id}", call) for call in calls]


def _push(tenant: Tenant, source_id: str, version: Version, **overrides: Any) -> list[str]:
    """Pushes one sent invoice like the worker does (a fresh service), returns the calls it made."""
    start = tenant.request_count()
    outcome = tenant.service().push_invoice(
        invoice(source_id, **overrides), version=version(), uncertain=False, manual=False
    )
    assert outcome.action == "created"
    return tenant.calls_since(start)


def test_second_invoice_of_a_known_customer(tenant: Tenant, version: Version) -> None:
    first = _push(tenant, "inv-1", version)
    assert set(_templated(first)) >= REFERENCE_READS

    second = _push(tenant, "inv-2", version)

    [contact] = tenant.contacts()
    [_, inv] = tenant.invoices()
    assert second == [
        "GET /Invoice",  # the invoice number is free (no earlier attempt: no marker search)
        # the customer, unchanged since it was written, is not read: a save naming a deleted contact
        # is rejected, and only then is it looked at (test below)
        "POST /Invoice/Factory/saveInvoice",
        f"PUT /Invoice/{inv['id']}/sendBy",  # its answer is the sent invoice: no read-back
    ]
    assert inv["status"] == "200" and inv["contact"]["id"] == contact["id"]


def test_changed_customer_is_synced_in_full(tenant: Tenant, version: Version) -> None:
    _push(tenant, "inv-1", version)
    moved = person(phone="+49 30 7654321")

    calls = _templated(_push(tenant, "inv-2", version, customer=moved))

    assert {"GET /ContactCustomField", "GET /ContactAddress", "GET /CommunicationWay"} <= set(calls)
    assert calls.count("GET /ContactCustomField") == 1  # one read serves the link check and the marker
    assert calls.count("POST /CommunicationWay") == 1
    # The old number was created by sevbridge and the platform no longer has it: removed (policy update).
    assert calls.count("DELETE /CommunicationWay/{id}") == 1
    phones = [w["value"] for w in tenant.objects("CommunicationWay") if w["type"] == "PHONE"]
    assert phones == ["+49 30 7654321"]
    # Synced: the third invoice is back to the short path.
    assert "GET /ContactAddress" not in _push(tenant, "inv-3", version, customer=moved)


def test_contact_deleted_in_sevdesk_is_noticed_on_the_short_path(tenant: Tenant, version: Version) -> None:
    _push(tenant, "inv-1", version)
    [old] = tenant.contacts()
    tenant.sandbox.state.delete(tenant.sandbox.state.account(tenant.account.account_id), "Contact", old["id"])

    calls = _push(tenant, "inv-2", version)

    [new] = tenant.contacts()
    assert new["id"] != old["id"]
    assert calls.count(f"GET /Contact/{old['id']}") == 1  # asked once, after the rejected save
    saves = [c for c in calls if c == "POST /Invoice/Factory/saveInvoice"]
    assert len(saves) == 2 and len(tenant.invoices()) == 2  # the rejected save created nothing
    assert tenant.invoices()[-1]["contact"]["id"] == new["id"]
    row = tenant.mappings.get(PLATFORM, tenant.tenant_id, "invoice", "inv-2")
    assert row is not None and row.contact_sevdesk_id == new["id"]


def test_reference_cache_is_per_tenant(
    sandbox: SandboxServer, state: SandboxState, mappings: DynamoMappingStore, http: httpx.Client, version: Version
) -> None:
    """Two tenants (here on two sevDesk accounts, with different users and check accounts): each
    reads its own reference data, and neither gets the other's ids."""
    a = Tenant(sandbox, state.create_account(name="A GmbH"), mappings, http, tenant_id="tenant-a")
    b = Tenant(sandbox, state.create_account(name="B GmbH"), mappings, http, tenant_id="tenant-b")
    assert a.account.sev_user_id != b.account.sev_user_id

    reads_a = set(_templated(_push(a, "inv-1", version)))
    reads_b = set(_templated(_push(b, "inv-1", version)))

    assert reads_a >= REFERENCE_READS and reads_b >= REFERENCE_READS
    assert a.invoices()[0]["contactPerson"]["id"] == a.account.sev_user_id
    assert b.invoices()[0]["contactPerson"]["id"] == b.account.sev_user_id
    assert default_reference_cache.tenants() == {f"{PLATFORM}:tenant-a", f"{PLATFORM}:tenant-b"}
    # The next documents of both tenants come from their own caches.
    assert not REFERENCE_READS & set(_templated(_push(a, "inv-2", version)))
    assert not REFERENCE_READS & set(_templated(_push(b, "inv-2", version)))
    assert b.invoices()[1]["contactPerson"]["id"] == b.account.sev_user_id


def test_two_tenants_on_one_sevdesk_account_do_not_share_the_cache(tenant: Tenant, version: Version) -> None:
    other = Tenant(tenant.sandbox, tenant.account, tenant.mappings, tenant.http, tenant_id="other-tenant")
    _push(tenant, "inv-1", version)

    calls = _templated(_push(other, "inv-1", version, number="RE-other-1"))

    assert set(calls) >= REFERENCE_READS


def test_reference_data_expires(tenant: Tenant, version: Version) -> None:
    now = [1000.0]
    cache = ReferenceCache(ttl=600, clock=lambda: now[0])

    def push(source_id: str) -> set[str]:
        start = tenant.request_count()
        tenant.service(reference_cache=cache).push_invoice(
            invoice(source_id), version=version(), uncertain=False, manual=False
        )
        return set(_templated(tenant.calls_since(start)))

    push("inv-1")
    now[0] += 599
    assert "GET /Unity" not in push("inv-2")
    now[0] += 2
    assert "GET /Unity" in push("inv-3")


def test_a_rejected_request_drops_the_tenants_cache(tenant: Tenant, version: Version) -> None:
    _push(tenant, "inv-1", version)
    tenant.sandbox.state.add_fault(
        Fault(kind="status", status=422, account_id=tenant.account.account_id, method="PUT", path_pattern="/sendBy$")
    )
    with pytest.raises(Exception, match="Unprocessable"):
        tenant.service().push_invoice(invoice("inv-2"), version=version(), uncertain=False, manual=False)
    assert f"{PLATFORM}:{tenant.tenant_id}" not in default_reference_cache.tenants()

    start = tenant.request_count()
    tenant.service().push_invoice(invoice("inv-3"), version=version(), uncertain=False, manual=False)
    assert "GET /Unity" in _templated(tenant.calls_since(start))


def test_a_unit_created_in_sevdesk_counts_at_once(tenant: Tenant, version: Version) -> None:
    """A missing unit is looked up fresh before refusing: the tenant fixes it and retries at once."""
    _push(tenant, "inv-1", version)  # units now cached
    pallet = [position("Europalette", unit="Palette")]
    with pytest.raises(PushRefused, match="unit 'Palette' not found"):
        tenant.service().push_invoice(
            invoice("inv-2", positions=pallet), version=version(), uncertain=False, manual=False
        )
    own = tenant.sandbox.state.seed(
        tenant.account.account_id, "Unity", {"name": "Palette", "translationCode": None, "uneceTradeUnitCode": None}
    )

    outcome = tenant.service().push_invoice(
        invoice("inv-2", positions=pallet), version=version(), uncertain=False, manual=False
    )

    assert outcome.action == "created"
    [pos] = [p for p in tenant.objects("InvoicePos") if p["invoice"]["id"] == outcome.sevdesk_id]
    assert pos["unity"]["id"] == own["id"]


def test_new_contact_costs_no_read_back_of_what_it_cannot_have(tenant: Tenant, version: Version) -> None:
    start = tenant.request_count()
    tenant.service().push_contact(person(), version=version(), uncertain=False)

    calls = _templated(tenant.calls_since(start))

    assert "GET /ContactCustomField" not in calls
    assert "GET /ContactAddress" not in calls and "GET /CommunicationWay" not in calls
    assert calls.count("POST /Contact") == 1
    # A number for the create first, so that a lost answer can be found again by it.
    before_create = calls[: calls.index("POST /Contact")]
    assert "GET /Contact/Factory/getNextCustomerNumber" in before_create
    assert "GET /Contact/Mapper/checkCustomerNumberAvailability" in before_create
