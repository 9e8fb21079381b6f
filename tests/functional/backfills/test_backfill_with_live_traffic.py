"""A tenant's live events keep flowing while its backfill runs (their own queue), and the live transfer
of a document and its backfill copy never both create it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from sevdesk_sandbox.faults import Fault
from tests.functional.backfills.conftest import BASE, TENANT, invoice_line
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain, drain_until_empty, process_batches, queue_depth

pytestmark = pytest.mark.functional
EVENTS = f"/v1/tenants/{TENANT}/events"


def _live_event(n: int, **kw: Any) -> dict[str, Any]:
    line = invoice_line(n, **kw)
    return {"id": f"live-{n}", "type": "invoice.transfer_requested", **line}


def _numbers(sandbox_state: Any, account: Any) -> list[str]:
    return sorted(i["invoiceNumber"] for i in sandbox_state.objects(account.account_id, "Invoice"))


def test_live_events_are_not_blocked_and_nothing_is_created_twice(
    api: HandlerApiClient, aws: Any, connected: Any, sandbox_state: Any, create_push: Callable[..., dict[str, Any]]
) -> None:
    bf = create_push()["backfill_id"]
    api.post(f"{BASE}/{bf}/items", json_body={"documents": [invoice_line(n) for n in range(1, 31)]})
    api.post(f"{BASE}/{bf}/start")
    process_batches(aws, 2, "BackfillQueue")  # the split and the first chunk: inv-1 … inv-10 transferred

    # Live traffic of the same tenant while the backfill still has a chunk to go: a new invoice and
    # inv-25, which the backfill has not reached yet (same version as the backfill's copy).
    accepted = api.post(EVENTS, json_body={"events": [_live_event(500), _live_event(25)]})
    assert accepted.status == 202, accepted.body
    drain(aws)  # the transfer worker, not behind the backfill
    assert queue_depth(aws, "BackfillQueue") > 0
    assert "RE-000500" in _numbers(sandbox_state, connected) and "RE-000025" in _numbers(sandbox_state, connected)

    drain_until_empty(aws, "BackfillQueue")
    status = api.get(f"{BASE}/{bf}").json
    assert status["state"] == "completed"
    assert status["counters"]["done"] == 29 and status["counters"]["skipped"] == 1  # inv-25 came live first
    assert _numbers(sandbox_state, connected) == sorted([f"RE-{n:06d}" for n in range(1, 31)] + ["RE-000500"])


def test_live_and_backfill_copy_of_one_document_at_the_same_time_create_it_once(
    api: HandlerApiClient,
    aws: Any,
    connected: Any,
    sandbox_state: Any,
    create_push: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The copy that finds the other one sending is held back until the claim ends, at most 60 s, or (the
    # backfill's, while the live transfer is pending) for LIVE_PENDING_RETRY; a 15-second claim still
    # outlasts a send through slow sevDesk answers, and the test does not wait a minute.
    monkeypatch.setattr("sevbridge.adapters.dynamo_ledger.CLAIM_SECONDS", 15)
    monkeypatch.setattr("sevbridge.adapters.dynamo_ledger.LIVE_PENDING_RETRY", 5.0)
    bf = create_push()["backfill_id"]
    api.post(f"{BASE}/{bf}/items", json_body={"documents": [invoice_line(7)]})
    api.post(f"{BASE}/{bf}/start")
    process_batches(aws, 1, "BackfillQueue")  # the split: the chunk with inv-7 is queued
    assert api.post(EVENTS, json_body=_live_event(7)).status == 202
    # Slow sevDesk answers widen the window in which both pushes are under way.
    sandbox_state.add_fault(Fault(kind="latency", delay_seconds=0.3, times=None, account_id=connected.account_id))

    errors: list[BaseException] = []

    def run(work: Callable[[], Any]) -> None:
        try:
            work()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda: drain(aws),)),
        threading.Thread(target=run, args=(lambda: process_batches(aws, 1, "BackfillQueue"),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    sandbox_state.clear_faults()
    assert not errors, errors
    drain_until_empty(aws, "BackfillQueue")
    assert _numbers(sandbox_state, connected) == ["RE-000007"]
