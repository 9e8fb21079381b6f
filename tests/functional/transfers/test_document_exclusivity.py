"""Exclusivity per document without a claim write on the live path (docs/ledger.md).

Live transfers of one document are serial by construction: FIFO delivers a tenant's batches one at a
time and a document's messages share one lane. What FIFO does not cover is the backfill, which runs its
transfers from its own queue and containers: its claim (a conditional `sending` write) fails while a
live transfer of the document is pending (the pointer's `live`), and a live transfer stands back, writing
nothing, while a backfill's claim is unexpired. A backfill waits for a pending live transfer at most
LIVE_WAIT; then it records its copy failed instead of pushing it."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.config import get_settings
from sevbridge.domain.ledger import TransferStatus
from sevbridge.domain.transfer_runner import LIVE_WAIT, Delivery, RetryLater
from sevbridge.workers.transfers import runner
from sevdesk_sandbox.faults import Fault
from tests.support.api_client import HandlerApiClient
from tests.support.clock import MovableClock
from tests.support.events import load_event
from tests.support.sent_messages import SentMessages
from tests.support.worker import drain, process_batches, queue_depth, source_for

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
SAVE = "/Invoice/Factory/saveInvoice"


def platform() -> str:
    return wiring.connection_store().list_connections()[0].platform_id


def backfill_copy(event_id: str, **changes: Any) -> str:
    """The invoice as a backfill chunk records it: the backfill worker's own intake (nothing is queued,
    the chunk runs its transfers itself). Returns the transfer id."""
    intake = wiring.backfill_worker(lambda time_left: runner(time_left)).intake
    connection = wiring.connection_store().get(platform(), "school-42")
    assert connection is not None
    [result] = intake.accept(connection, [load_event("platform-invoice-upserted.json", id=event_id, **changes)])
    assert result.status == "accepted", result.answer
    return str(result.answer["transfers"][0]["transfer_id"])


def live_event(api: HandlerApiClient, event: dict[str, Any]) -> str:
    """The invoice as the platform sends it (events route → transfer queue). Returns the transfer id."""
    result = api.post(EVENTS, json_body=event)
    assert result.status == 202, result.body
    return str(result.json["results"][0]["transfers"][0]["transfer_id"])


def invoice_event(event_id: str, **changes: Any) -> dict[str, Any]:
    return load_event("platform-invoice-upserted.json", id=event_id, **changes)


def pointer() -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(
        TableName=get_settings().ledger_table,
        Key={"pk": {"S": tenant_pk(platform(), "school-42")}, "sk": {"S": "DOC#invoice#inv-2026-020"}},
        ConsistentRead=True,
    )["Item"]


def saves(sandbox_state: Any, account: Any) -> int:
    return len([r for r in sandbox_state.requests(account.account_id) if r.path == SAVE])


def test_a_live_and_a_backfill_transfer_racing_create_the_invoice_once(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """The live transfer is pending (its event was accepted) when a backfill copy of the same invoice is
    recorded and run: whichever thread gets there first, the backfill's claim fails while the live one is
    pending, even though the backfill copy is the document's newer transfer; afterwards it adopts."""
    live = live_event(api, invoice_event("evt-live"))
    copy = backfill_copy("job-1.1")
    assert pointer()["live"]["S"] == live and pointer()["tid"]["S"] == copy
    sandbox_state.add_fault(Fault(kind="latency", path_pattern=rf"^{SAVE}$", delay_seconds=1.0))

    start = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def run_live() -> None:
        start.wait()
        outcomes["live"] = drain(aws)  # the transfer worker, as Lambda runs it

    def run_backfill() -> None:
        start.wait()
        try:
            outcomes["backfill"] = runner().run(platform(), "school-42", copy)
        except RetryLater as exc:
            outcomes["backfill"] = exc

    threads = [threading.Thread(target=run_live), threading.Thread(target=run_backfill)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes["live"] == 1
    assert isinstance(outcomes["backfill"], RetryLater), outcomes  # waited: no attempt, nothing written
    after_live = api.get(f"/v1/tenants/school-42/transfers/{copy}").json
    assert (after_live["status"], after_live["attempts"]) == ("queued", 0), after_live
    assert "live" not in pointer() and "claim" not in pointer()  # the live outcome settled the document

    again = runner().run(platform(), "school-42", copy)  # the backfill chunk comes back
    assert again is not None and again.status in (TransferStatus.TRANSFERRED, TransferStatus.SKIPPED), again
    (invoice,) = sandbox_state.objects(connected.account_id, "Invoice")
    details = [api.get(f"/v1/tenants/school-42/transfers/{tid}").json for tid in (live, copy)]
    assert details[0]["status"] == "transferred" and details[0]["sevdesk_id"] == str(invoice["id"])
    assert again.sevdesk_id == str(invoice["id"])
    assert saves(sandbox_state, connected) == 1
    assert [d["attempts"] for d in details] == [1, 1]


def test_a_backfill_claim_makes_the_live_transfer_stand_back_without_a_write(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, sent: SentMessages
) -> None:
    """The backfill holds its claim (sevDesk is slow) when the live event arrives: the live transfer waits
    (RetryLater, nothing written, no attempt used), then adopts what the backfill created."""
    copy = backfill_copy("job-1.1")
    sandbox_state.add_fault(Fault(kind="latency", path_pattern=rf"^{SAVE}$", delay_seconds=1.5))
    done: dict[str, Any] = {}
    backfill = threading.Thread(target=lambda: done.setdefault("t", runner().run(platform(), "school-42", copy)))
    backfill.start()
    for _ in range(200):
        if pointer().get("claim", {}).get("S") == copy:
            break
        threading.Event().wait(0.02)
    live = live_event(api, invoice_event("evt-live", occurred_at="2026-11-21T15:00:00+01:00"))
    rev = pointer()["rev"]["N"]

    with pytest.raises(RetryLater) as waited:
        runner().run(
            platform(), "school-42", live, delivery=Delivery(message_id="m-1", receives=1), carried=sent.document(live)
        )

    assert 0 < waited.value.delay <= 60
    assert pointer()["rev"]["N"] == rev  # standing back writes nothing
    backfill.join(timeout=60)
    assert done["t"].status is TransferStatus.TRANSFERRED
    before = api.get(f"/v1/tenants/school-42/transfers/{live}").json
    assert (before["status"], before["attempts"]) == ("queued", 0), before

    again = runner().run(
        platform(), "school-42", live, delivery=Delivery(message_id="m-1", receives=2), carried=sent.document(live)
    )
    (invoice,) = sandbox_state.objects(connected.account_id, "Invoice")
    assert again is not None and again.status is TransferStatus.TRANSFERRED and again.attempts == 1
    assert again.sevdesk_id == done["t"].sevdesk_id == str(invoice["id"])
    assert saves(sandbox_state, connected) == 1
    assert "live" not in pointer() and "claim" not in pointer()


def test_two_live_transfers_of_one_document_in_one_batch_run_one_after_the_other(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """No claim is written on the live path: what keeps two live transfers of one document apart is the
    lane (one document, one lane, batch order) and FIFO (one batch of a tenant at a time)."""
    sandbox_state.add_fault(Fault(kind="latency", path_pattern=rf"^{SAVE}$", delay_seconds=0.5))
    first = live_event(api, invoice_event("evt-1", occurred_at="2026-11-21T14:00:00+01:00"))
    # A newer version, same content.
    second = live_event(api, invoice_event("evt-2", occurred_at="2026-11-21T15:00:00+01:00"))

    assert process_batches(aws, batches=1) == 2  # both in one batch
    assert queue_depth(aws, "TransferQueue") == 0
    states = [api.get(f"/v1/tenants/school-42/transfers/{tid}").json for tid in (first, second)]
    assert [s["status"] for s in states] == ["transferred", "transferred"], [s.get("reason") for s in states]
    assert saves(sandbox_state, connected) == 1  # the second found the first's invoice (its mapping row)
    (invoice,) = sandbox_state.objects(connected.account_id, "Invoice")
    assert {s["sevdesk_id"] for s in states} == {str(invoice["id"])}
    requests = sorted(sandbox_state.requests(connected.account_id), key=lambda r: r.received)
    for earlier, later in itertools.pairwise(requests):
        assert later.received >= earlier.received + earlier.seconds - 0.01, (earlier.path, later.path)


def test_a_backfill_waits_for_a_pending_live_transfer_at_most_live_wait(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """A live transfer that never settles (its message went to the dead-letter queue) holds the backfill's
    copy back for LIVE_WAIT, not for ever: then the copy is recorded failed, with why, and nothing sent."""
    live = live_event(api, invoice_event("evt-live"))
    boto3.client("sqs").purge_queue(QueueUrl=source_for(aws, "TransferQueue").queue.url)  # gone for good
    copy = backfill_copy("job-1.1")

    with pytest.raises(RetryLater):
        runner().run(platform(), "school-42", copy)
    later = runner()
    later.clock = MovableClock(wiring.clock().now() + LIVE_WAIT + timedelta(minutes=1))
    failed = later.run(platform(), "school-42", copy)

    assert failed is not None and failed.status is TransferStatus.FAILED and failed.attempts == 0
    assert failed.reason is not None and live in failed.reason and "pending" in failed.reason
    assert saves(sandbox_state, connected) == 0
    assert pointer()["live"]["S"] == live  # the live transfer's own outcome clears it when it comes


def test_a_live_transfer_that_failed_no_longer_holds_the_backfill(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """Failed (sevDesk refused: an unknown unit) is a settling outcome: `live` goes with it, so a backfill
    copy of the document claims at once."""
    event = invoice_event("evt-live")
    event["data"]["positions"][0]["unit"] = "Fass"
    live_event(api, event)
    drain(aws)
    assert "live" not in pointer()
    copy = backfill_copy("job-1.1")

    done = runner().run(platform(), "school-42", copy)

    assert done is not None and done.status is TransferStatus.TRANSFERRED, done
    assert saves(sandbox_state, connected) == 1


def test_a_live_transfer_no_pending_mark_protects_claims_with_a_write(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """A pointer that names no pending live transfer (written before `live` existed, or a message redriven
    after its document settled) holds no backfill back: such a live transfer claims with a `sending`
    write, as before, instead of relying on the read."""
    copy = backfill_copy("job-1.1")  # recorded without the mark, as before `live`
    assert "live" not in pointer()
    transfer = wiring.ledger().get(platform(), "school-42", copy)
    assert transfer is not None
    wiring.transfer_queue().enqueue([transfer])  # now on the transfer queue

    assert drain(aws) == 1

    done = api.get(f"/v1/tenants/school-42/transfers/{copy}").json
    assert [h["status"] for h in done["history"]] == ["queued", "sending", "transferred"], done["history"]
    assert "claim" not in pointer() and saves(sandbox_state, connected) == 1


def test_a_backfill_transfer_retried_through_the_api_is_not_also_claimed_by_its_chunk(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """A backfill's failed transfer retried through the API goes to the transfer queue: it is then the
    pending live transfer of its document, and the backfill's chunk running the same transfer does not
    claim it (the live attempt writes no claim that would hold the chunk back)."""
    copy = backfill_copy("job-1.1")
    transfer = wiring.ledger().get(platform(), "school-42", copy)
    assert transfer is not None
    wiring.ledger().save(transfer.moved_to(TransferStatus.FAILED, transfer.updated_at, "failed", reason="x"))
    wiring.transfer_ops().retry(platform(), "school-42", copy)  # POST …/retry: back on the transfer queue
    assert pointer()["live"]["S"] == copy

    with pytest.raises(RetryLater):
        runner().run(platform(), "school-42", copy)  # the backfill's chunk, from its own queue

    assert saves(sandbox_state, connected) == 0
    assert drain(aws) == 1  # the live worker sends it
    assert saves(sandbox_state, connected) == 1 and "live" not in pointer()
