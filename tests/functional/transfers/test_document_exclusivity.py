"""Exclusivity per document: two transfers of the same document (e.g. a live event and a backfill copy
run from another queue) never push it side by side. The claim to `sending` is a conditional write on the
document's pointer; the loser waits (RetryLater, no attempt used, not failed) and reconciles afterwards."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sevbridge import wiring
from sevbridge.domain.transfer_runner import RetryLater
from sevbridge.workers.transfers import runner
from sevdesk_sandbox.faults import Fault
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"


def test_two_transfers_of_one_document_run_at_once_and_create_it_once(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    live = api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json", id="evt-live"))
    copy = api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json", id="evt-backfill-copy"))
    ids = [r.json["results"][0]["transfers"][0]["transfer_id"] for r in (live, copy)]
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    # sevDesk is slow: whoever claims first is still sending when the other one tries.
    sandbox_state.add_fault(Fault(kind="latency", path_pattern=r"^/Invoice/Factory/saveInvoice$", delay_seconds=1.5))

    start = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def run(transfer_id: str) -> None:
        start.wait()
        try:
            outcomes[transfer_id] = runner().run(platform_id, "school-42", transfer_id)
        except RetryLater as exc:
            outcomes[transfer_id] = exc

    threads = [threading.Thread(target=run, args=(tid,)) for tid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    waited = [tid for tid, outcome in outcomes.items() if isinstance(outcome, RetryLater)]
    assert len(outcomes) == 2 and len(waited) == 1, outcomes
    (loser,) = waited
    assert outcomes[loser].delay > 0
    before = api.get(f"/v1/tenants/school-42/transfers/{loser}").json
    assert before["status"] == "queued" and before["attempts"] == 0, before  # no attempt used, not failed
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1

    # The queue brings the loser back: it finds the document already in sevDesk and adopts it.
    again = runner().run(platform_id, "school-42", loser)
    assert again is not None and again.status.value in ("transferred", "skipped"), again
    details = [api.get(f"/v1/tenants/school-42/transfers/{tid}").json for tid in ids]
    (invoice,) = sandbox_state.objects(connected.account_id, "Invoice")
    assert [d["status"] for d in details] == ["transferred", "transferred"] or {d["status"] for d in details} <= {
        "transferred",
        "skipped",
    }
    assert {d["sevdesk_id"] for d in details} == {str(invoice["id"])}
    assert [d["attempts"] for d in details] == [1, 1]
    saves = [r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"]
    assert len(saves) == 1

    lookup = api.post(
        "/v1/tenants/school-42/transfers/lookup",
        json_body={"documents": [{"kind": "invoice", "source_id": "inv-2026-020"}]},
    ).json["documents"][0]
    assert lookup["transfer_id"] == ids[1]  # the latest transfer of the document
    assert lookup["sevdesk_id"] == str(invoice["id"])
