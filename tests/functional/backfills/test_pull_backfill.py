"""Pull backfills (B2, M6): one call imports the whole history of the chosen kinds into the change feed
through the import machinery (pages, checkpoints, resumable), and the incremental watermark is intact."""

from __future__ import annotations

from typing import Any

import pytest

from sevbridge import wiring
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


class WorkerDied(Exception):
    """The import worker's invocation ends here (as if the process were killed): SQS delivers again."""


def test_pull_backfill_crashing_between_pages_resumes_from_its_checkpoint(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_retries_immediate(aws, "ImportQueue")
    generate(sandbox_state, connected.account_id, contacts=20, invoices=150, seed=5, days=3000, backdate=True)
    assert api.post(f"/v1/tenants/{TENANT}/imports", json_body={"kinds": ["invoices"]}).status == 202
    drain_until_empty(aws, "ImportQueue")
    watermark = api.get(f"/v1/tenants/{TENANT}/connection").json["imports"]["kinds"]["invoices"]["watermark"]
    assert watermark is not None
    # More history than one page (200 invoices a page): the backfill reads several pages.
    generate(sandbox_state, connected.account_id, invoices=700, seed=6, days=3000, backdate=True)
    invoice_ids = {
        str(i["id"])
        for i in sandbox_state.objects(connected.account_id, "Invoice")
        if i["invoiceType"] in ("RE", "AR", "TR", "ER") and i["status"] != "100"
    }
    before = len(_invoice_pages(sandbox_state, connected.account_id))

    bf = api.post(BASE, json_body={"direction": "pull", "kinds": ["invoices"]}).json["backfill_id"]
    run_id = api.post(f"{BASE}/{bf}/start").json["import_id"]
    # The worker dies twice: right after page 2's checkpoint is stored, and after page 4's changes are
    # published but before its checkpoint is stored (that page is read again and must not double).
    store_type = type(wiring.import_store())
    save_run = store_type.save_run
    crashes: list[tuple[str, int]] = []

    def dying_save_run(self: Any, run: Any) -> Any:
        pages = max((k.pages for k in run.kinds), default=0)
        if run.run_id == run_id and pages == 4 and ("before", 4) not in crashes:
            crashes.append(("before", 4))
            raise WorkerDied("killed before the checkpoint of page 4")
        saved = save_run(self, run)
        if run.run_id == run_id and pages == 2 and ("after", 2) not in crashes:
            crashes.append(("after", 2))
            raise WorkerDied("killed after the checkpoint of page 2")
        return saved

    monkeypatch.setattr(store_type, "save_run", dying_save_run)
    drain_until_empty(aws, "ImportQueue")
    drain_until_empty(aws, "BackfillQueue")
    assert crashes == [("after", 2), ("before", 4)]

    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed" and status["outcome"] == "completed", status
    # Resumed from the checkpoint: after each crash the next page read is the one after the last
    # checkpoint (page 3 after the first, page 4 again after the second), never page 1 again.
    reads = _invoice_pages(sandbox_state, connected.account_id)[before:]
    assert reads.count("0") == 1, reads
    assert len(reads) == len(set(reads)) + 1, reads  # exactly one page read twice: page 4
    changes, cursor = _feed(api)
    seen = [c["sevdesk_id"] for c in changes if c["kind"] == "invoices"]
    assert len(seen) == len(set(seen))  # nothing doubled in the feed ...
    assert set(seen) == invoice_ids  # ... and nothing missing

    # The incremental watermark did not go back; the next incremental import reports one edit once.
    health = api.get(f"/v1/tenants/{TENANT}/connection").json["imports"]["kinds"]["invoices"]
    assert health["watermark"] >= watermark
    some = sorted(invoice_ids)[0]
    sandbox_state.change(
        connected.account_id, "Invoice", some, {"status": "1000", "payDate": "2026-11-30T00:00:00+01:00"}
    )
    assert api.post(f"/v1/tenants/{TENANT}/imports", json_body={"kinds": ["invoices"]}).status == 202
    drain_until_empty(aws, "ImportQueue")
    later, _ = _feed(api, cursor)
    assert [(c["sevdesk_id"], c["action"]) for c in later] == [(some, "updated")]


def _invoice_pages(sandbox_state: Any, account_id: str) -> list[str]:
    """The offsets of the invoice list pages sevDesk answered, in order."""
    return [
        str((r.query or {}).get("offset", "0"))
        for r in sandbox_state.requests(account_id)
        if r.method == "GET" and r.path == "/Invoice" and r.status == 200
    ]
