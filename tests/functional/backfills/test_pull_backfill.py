"""Pull backfills (B2, M6): one call imports the whole history of the chosen kinds into the change feed
through the import machinery (pages, checkpoints, resumable), and the incremental watermark is intact."""

from __future__ import annotations

from typing import Any

import pytest

from sevdesk_sandbox.generate import generate
from tests.functional.backfills.conftest import BASE, TENANT
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty, make_retries_immediate

pytestmark = pytest.mark.functional


def _feed(api: HandlerApiClient, after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    items: list[dict[str, Any]] = []
    cursor = after
    while True:
        page = api.get(f"/v1/tenants/{TENANT}/changes", query={"limit": "200", **({"after": cursor} if cursor else {})})
        assert page.status == 200, page.body
        items += page.json["items"]
        cursor = page.json["next_cursor"]
        if not page.json["has_more"]:
            return items, cursor


def test_pull_backfill_imports_all_history_and_leaves_the_watermark_alone(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any
) -> None:
    make_retries_immediate(aws, "ImportQueue")
    generate(sandbox_state, connected.account_id, contacts=30, invoices=300, seed=3, days=3000)
    # What an invoice import reports (M4): not drafts, not cancellation documents.
    invoice_ids = {
        str(i["id"])
        for i in sandbox_state.objects(connected.account_id, "Invoice")
        if i["invoiceType"] in ("RE", "AR", "TR", "ER") and i["status"] != "100"
    }

    created = api.post(BASE, json_body={"direction": "pull", "kinds": ["invoices"]})
    assert created.status == 201, created.body
    bf = created.json["backfill_id"]
    started = api.post(f"{BASE}/{bf}/start")
    assert started.status == 202, started.body
    assert started.json["import_id"]
    drain_until_empty(aws, "ImportQueue")
    drain_until_empty(aws, "BackfillQueue")

    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed" and status["outcome"] == "completed", status
    assert status["processed"] >= len(invoice_ids)
    changes, cursor = _feed(api)
    assert {c["sevdesk_id"] for c in changes if c["kind"] == "invoices"} == invoice_ids

    # The incremental import goes on from its watermark: one later edit, reported exactly once.
    some = next(
        str(i["id"])
        for i in sandbox_state.objects(connected.account_id, "Invoice")
        if str(i["id"]) in invoice_ids and i["status"] == "200"
    )
    sandbox_state.change(
        connected.account_id, "Invoice", some, {"status": "1000", "payDate": "2026-11-30T00:00:00+01:00"}
    )
    imported = api.post(f"/v1/tenants/{TENANT}/imports", json_body={"kinds": ["invoices"]})
    assert imported.status == 202, imported.body
    drain_until_empty(aws, "ImportQueue")
    later, _ = _feed(api, cursor)
    assert [(c["sevdesk_id"], c["action"]) for c in later] == [(some, "updated")]


def test_pull_backfill_refuses_filters_and_needs_kinds(api: HandlerApiClient, connected: Any) -> None:
    no_kinds = api.post(BASE, json_body={"direction": "pull"})
    assert no_kinds.status == 422 and no_kinds.json["error"]["details"][0]["field"] == "kinds"
    filtered = api.post(
        BASE, json_body={"direction": "pull", "kinds": ["invoices"], "filters": {"since": "2015-01-01"}}
    )
    assert filtered.status == 422 and filtered.json["error"]["details"][0]["field"] == "filters"
