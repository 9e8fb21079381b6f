"""The pull direction on the local stack `make run` starts (schedule shortened to 2 s, tenants' import
intervals with it): records created, changed and deleted in the sandbox reach the change feed exactly
once within one schedule interval, and the README's pull walk-through works as written."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


class PullTenant:
    def __init__(self, stack: RunningStack, api: httpx.Client, **settings: Any) -> None:
        self.api = api
        self.admin = httpx.Client(base_url=stack.sevdesk_sandbox_admin_url, timeout=30)
        account = self.admin.post("/accounts", json={"name": "Pull GmbH"}).json()
        self.account_id, self.token = account["account_id"], account["token"]
        self.id = f"pull-{uuid.uuid4().hex[:8]}"
        self.settings = settings

    def connect(self) -> None:
        body = {"sevdesk_token": self.token, "settings": self.settings}
        assert self.api.put(f"/v1/tenants/{self.id}/connection", json=body).status_code == 201

    def generate(self, **counts: int) -> None:
        made = self.admin.post(f"/accounts/{self.account_id}/generate", json=counts)
        assert made.status_code == 201, made.text

    def objects(self, name: str) -> list[dict[str, Any]]:
        return list(self.admin.get(f"/accounts/{self.account_id}/objects/{name}").json())

    def feed(self, after: str | None = None) -> tuple[list[dict[str, Any]], str]:
        items: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"limit": 200, **({"after": after} if after else {})}
            page = self.api.get(f"/v1/tenants/{self.id}/changes", params=params)
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            after = page.json()["next_cursor"]
            if not page.json()["has_more"]:
                return items, after


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.25)


def test_sevdesk_changes_reach_the_feed_exactly_once_within_one_interval(
    local_stack: RunningStack, api: httpx.Client
) -> None:
    interval = local_stack.facts["schedules"]["sevbridge-local-import-scheduler"]
    # Reconciliation on every scheduled import, so that deletions show within one interval too.
    tenant = PullTenant(local_stack, api, import_reconcile_hours=0)
    tenant.generate(contacts=25, invoices=30, parts=5, seed=42)
    tenant.connect()
    customers = {c["id"] for c in tenant.objects("Contact") if c["category"]["id"] == "3"}
    invoices = {i["id"] for i in tenant.objects("Invoice") if i["status"] != "100"}
    imported = wait_for(
        lambda: {c["sevdesk_id"] for c in tenant.feed()[0]} >= customers | invoices,
        timeout=30,
        what="the first scheduled import",
    )
    assert imported
    _, cursor = tenant.feed()

    # A person in sevDesk's web UI: one new customer, one edit, one deleted draft-free invoice.
    new = tenant.admin.post(
        f"/accounts/{tenant.account_id}/seed",
        json={"objectName": "Contact", "object": {"name": "Neu AG", "category": {"id": 3}, "status": 1000}},
    ).json()
    edited = sorted(customers)[0]
    tenant.admin.patch(f"/accounts/{tenant.account_id}/objects/Contact/{edited}", json={"fields": {"name": "Geändert"}})
    gone = next(i for i in tenant.objects("Invoice") if i["status"] == "200")
    assert tenant.admin.delete(f"/accounts/{tenant.account_id}/objects/Invoice/{gone['id']}").status_code == 200
    changed_at = time.monotonic()

    expected = {(new["id"], "created"), (edited, "updated"), (gone["id"], "deleted")}
    seen = wait_for(
        lambda: {(c["sevdesk_id"], c["action"]) for c in tenant.feed(cursor)[0]} >= expected or None,
        timeout=30,
        what="the three changes",
    )
    took = time.monotonic() - changed_at
    assert seen
    # Within one interval of the schedule (plus the time the import itself takes on this machine).
    assert took < interval + 8, f"{took:.1f} s for an interval of {interval} s"
    # Exactly once: a few more scheduled imports add nothing.
    time.sleep(3 * interval)
    changes = tenant.feed(cursor)[0]
    assert Counter((c["sevdesk_id"], c["action"]) for c in changes) == Counter(dict.fromkeys(expected, 1))
    updated = next(c for c in changes if c["action"] == "updated")
    assert updated["record"]["organisation_name"] == "Geändert"


def test_readme_pull_walkthrough(local_stack: RunningStack, api: httpx.Client) -> None:
    tenant = PullTenant(local_stack, api)
    tenant.generate(contacts=20, parts=5, orders=5, invoices=30, cancelled=1, seed=7)
    tenant.connect()
    started = api.post(
        f"/v1/tenants/{tenant.id}/imports", json={"kinds": ["contacts", "articles", "order_confirmations", "invoices"]}
    )
    assert started.status_code in (200, 202), started.text
    run_id = started.json()["run_id"]
    run = wait_for(
        lambda: (r := api.get(f"/v1/tenants/{tenant.id}/imports/{run_id}").json())["state"] == "succeeded" and r,
        timeout=30,
        what="the import",
    )
    # Order confirmations are imported on demand only (the schedule may have done the rest already).
    orders = next(k for k in run["kinds"] if k["kind"] == "order_confirmations")
    assert orders["counts"]["created"] > 0
    changes, cursor = tenant.feed()
    assert {c["kind"] for c in changes} == {"contacts", "articles", "order_confirmations", "invoices"}
    cancelled = [c for c in changes if c["kind"] == "invoices" and c["record"]["status"] == "cancelled"]
    assert len(cancelled) == 1
    contact = next(c for c in changes if c["kind"] == "contacts")["sevdesk_id"]
    tenant.admin.patch(
        f"/accounts/{tenant.account_id}/objects/Contact/{contact}", json={"fields": {"description": "VIP"}}
    )
    again = api.post(f"/v1/tenants/{tenant.id}/imports", json={"kinds": ["contacts"]}).json()["run_id"]
    wait_for(
        lambda: api.get(f"/v1/tenants/{tenant.id}/imports/{again}").json()["state"] == "succeeded",
        timeout=30,
        what="the second import",
    )
    later = [c for c in tenant.feed(cursor)[0] if c["sevdesk_id"] == contact]
    assert [(c["action"], c["record"]["description"]) for c in later] == [("updated", "VIP")]
    health = api.get(f"/v1/tenants/{tenant.id}/connection").json()["imports"]
    assert health["kinds"]["contacts"]["last_success_at"]
