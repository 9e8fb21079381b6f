"""The transfer worker through the real handlers: api → ledger + FIFO → transfer_worker → sandbox.

Covers I8 (never a second document: redelivery, re-sent events, timeout after commit, a crash between
the sevDesk call and the ledger write), C3 (park on 401, resume in order on a new token) and I6."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sevbridge.config import reset_settings
from sevdesk_sandbox.faults import Fault
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.sent_messages import documents_stay_in_the_ledger
from tests.support.worker import drain, queue_depth

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
TRANSFERS = "/v1/tenants/school-42/transfers"


def transfers(api: HandlerApiClient, **query: str) -> list[dict[str, Any]]:
    result = api.get(TRANSFERS, query=query or None)
    assert result.status == 200, result.body
    items: list[dict[str, Any]] = result.json["items"]
    return items


def only_transfer(api: HandlerApiClient) -> dict[str, Any]:
    (item,) = transfers(api)
    detail = api.get(f"{TRANSFERS}/{item['transfer_id']}").json
    return detail  # type: ignore[no-any-return]


def invoices(state: Any, account: Any) -> list[dict[str, Any]]:
    return state.objects(account.account_id, "Invoice")  # type: ignore[no-any-return]


def contacts(state: Any, account: Any) -> list[dict[str, Any]]:
    return state.objects(account.account_id, "Contact")  # type: ignore[no-any-return]


def test_sent_invoice_is_transferred_once_with_status_open(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    event = load_event("platform-invoice-upserted.json")
    api.post(EVENTS, json_body=event)
    drain(aws)

    transfer = only_transfer(api)
    assert transfer["status"] == "transferred", transfer
    assert transfer["sevdesk_id"]
    assert transfer["attempts"] == 1
    (invoice,) = invoices(sandbox_state, connected)
    assert str(invoice["id"]) == transfer["sevdesk_id"]
    assert str(invoice["status"]) == "200"
    assert invoice["invoiceNumber"] == "PL-2026-020"
    assert len(contacts(sandbox_state, connected)) == 1
    assert [h["status"] for h in transfer["history"]] == ["queued", "transferred"]  # live: no `sending` write

    # The platform re-sends the same event, then the same invoice under a new event id.
    assert api.post(EVENTS, json_body=event).status == 202
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json", id="evt-resent"))
    drain(aws)
    assert len(invoices(sandbox_state, connected)) == 1
    assert len(contacts(sandbox_state, connected)) == 1
    assert queue_depth(aws, "TransferQueue") == 0


def test_timeout_after_sevdesk_committed_does_not_duplicate(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    sandbox_state.add_fault(
        Fault(kind="timeout_after_commit", path_pattern=r"^/Invoice/Factory/saveInvoice$", delay_seconds=3, times=1)
    )
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)

    transfer = only_transfer(api)
    assert transfer["status"] == "transferred", (transfer["reason"], transfer["history"])
    assert transfer["attempts"] == 1  # settled in the same attempt: looked up and adopted
    (invoice,) = invoices(sandbox_state, connected)
    assert str(invoice["id"]) == transfer["sevdesk_id"]
    saves = [r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"]
    assert len(saves) == 1


def test_crash_between_sevdesk_call_and_ledger_write_does_not_duplicate(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sevbridge.adapters.dynamo_ledger import DynamoLedgerStore
    from sevbridge.domain.ledger import TransferStatus

    real_save = DynamoLedgerStore.save
    crashed: list[str] = []

    def save_or_die(self: DynamoLedgerStore, transfer: Any, *args: Any, **kwargs: Any) -> Any:
        # The process dies after sevDesk answered, before the outcome reaches the ledger.
        if transfer.status is TransferStatus.TRANSFERRED and not crashed:
            crashed.append(transfer.transfer_id)
            raise SystemExit("simulated crash")
        return real_save(self, transfer, *args, **kwargs)

    monkeypatch.setattr(DynamoLedgerStore, "save", save_or_die)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    with pytest.raises(SystemExit):
        drain(aws)  # the invocation dies; the message is not deleted
    assert crashed
    assert only_transfer(api)["status"] == "queued"  # a live attempt writes nothing before its outcome
    assert len(invoices(sandbox_state, connected)) == 1

    drain(aws)  # redelivery (receive count 2, no outcome recorded by receive 1) → reconcile, adopt
    transfer = only_transfer(api)
    assert transfer["status"] == "transferred", transfer
    assert len(invoices(sandbox_state, connected)) == 1
    assert len(contacts(sandbox_state, connected)) == 1
    assert transfer["sevdesk_id"] == str(invoices(sandbox_state, connected)[0]["id"])


def test_rotated_token_parks_work_and_a_new_token_resumes_it_in_order(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lanes off: the resumed documents' sevDesk ids then show the order they were re-queued in (with lanes,
    # different documents may finish in any order; order per document: test_lanes.py).
    monkeypatch.setenv("TRANSFER_LANES_PER_TENANT", "1")
    reset_settings()
    new_token = sandbox_state.rotate_token(connected.account_id)
    batch = [
        load_event("platform-invoice-upserted.json"),
        load_event("platform-invoice-transfer-requested.json"),
        load_event("platform-project-completed.json"),
    ]
    accepted = api.post(EVENTS, json_body={"events": batch})
    assert accepted.json["accepted"] == 3
    drain(aws)

    parked = transfers(api)
    assert {t["status"] for t in parked} == {"waiting_for_credentials"}
    assert queue_depth(aws, "TransferQueue") == 0  # acknowledged, not retried into the DLQ
    assert queue_depth(aws, "TransferDLQ") == 0
    connection = api.get("/v1/tenants/school-42/connection").json
    assert connection["status"] == "reconnect_required"
    assert "401" in connection["health"]["last_error"] or "token" in connection["health"]["last_error"]
    assert invoices(sandbox_state, connected) == []

    # Events keep being accepted while the tenant waits; they wait too.
    api.post(EVENTS, json_body=load_event("platform-contact-upserted.json"))
    drain(aws)
    assert {t["status"] for t in transfers(api) if t["status"] != "skipped"} == {"waiting_for_credentials"}

    stored = api.put("/v1/tenants/school-42/connection", json_body={"sevdesk_token": new_token})
    assert stored.status == 200
    assert stored.json["status"] == "connected"
    assert stored.json["resumed_transfers"] == 5
    drain(aws)

    done = transfers(api)
    assert {t["status"] for t in done} <= {"transferred", "skipped"}, done
    assert len(invoices(sandbox_state, connected)) == 4  # sent, manual draft, project draft, P3 paid
    # resumed in arrival order: each transfer's sevDesk document is newer than the previous one's
    resumed = sorted(
        (t for t in done if t["status"] == "transferred" and t["kind"] != "contact"), key=lambda t: t["transfer_id"]
    )
    assert [int(t["sevdesk_id"]) for t in resumed] == sorted(int(t["sevdesk_id"]) for t in resumed)


def test_missing_unit_fails_before_anything_is_created_and_retry_succeeds(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    event = load_event("platform-invoice-upserted.json")
    event["data"]["positions"][1]["unit"] = "Palette"
    api.post(EVENTS, json_body=event)
    drain(aws)

    transfer = only_transfer(api)
    assert transfer["status"] == "failed"
    assert "Palette" in transfer["reason"]
    assert "sevDesk" in transfer["reason"]
    assert invoices(sandbox_state, connected) == []
    assert contacts(sandbox_state, connected) == []

    api.put(
        "/v1/tenants/school-42/connection", json_body={"settings": {"unit_mapping": {"h": "Std", "Palette": "Stk"}}}
    )
    retried = api.post(f"{TRANSFERS}/{transfer['transfer_id']}/retry")
    assert retried.status == 202
    drain(aws)
    assert only_transfer(api)["status"] == "transferred"
    assert len(invoices(sandbox_state, connected)) == 1
    assert api.post(f"{TRANSFERS}/{transfer['transfer_id']}/retry").status == 409  # not failed any more


def test_transient_sevdesk_errors_are_retried_then_succeed(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    sandbox_state.add_fault(Fault(kind="rate_limit", retry_after=0, times=1))
    sandbox_state.add_fault(Fault(kind="status", status=503, path_pattern=r"^/Invoice", times=3))
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)
    transfer = only_transfer(api)
    assert transfer["status"] == "transferred", transfer
    assert len(invoices(sandbox_state, connected)) == 1


def test_list_filters_and_retry_all(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    api.post(EVENTS, json_body=load_event("platform-contact-upserted.json"))
    broken = load_event("platform-invoice-upserted.json")
    broken["data"]["positions"][0]["unit"] = "Fass"
    api.post(EVENTS, json_body=broken)
    drain(aws)

    assert {t["kind"] for t in transfers(api, kind="invoice")} == {"invoice"}
    assert [t["source_id"] for t in transfers(api, status="failed")] == ["inv-2026-020"]
    assert len(transfers(api, source_id="inv-2025-117")) == 1
    assert transfers(api, since="2999-01-01T00:00:00Z") == []
    page = api.get(TRANSFERS, query={"limit": "2"}).json
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api.get(TRANSFERS, query={"limit": "2", "cursor": page["next_cursor"]}).json["items"]
    assert {t["transfer_id"] for t in rest}.isdisjoint({t["transfer_id"] for t in page["items"]})
    assert api.get(TRANSFERS, query={"status": "bogus"}).status == 422
    assert api.get(f"{TRANSFERS}/tr_0000000000000000000000").status == 404

    retried = api.post(f"{TRANSFERS}/retry")
    assert retried.status == 202
    assert retried.json["retried"] == 1


def test_worker_logs_never_contain_the_token(
    api: HandlerApiClient,
    connected: Any,
    sandbox_state: Any,
    aws: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)
    new_token = sandbox_state.rotate_token(connected.account_id)
    api.post(EVENTS, json_body=load_event("platform-project-completed.json"))
    drain(aws)
    api.put("/v1/tenants/school-42/connection", json_body={"sevdesk_token": new_token})
    drain(aws)
    out = capsys.readouterr()
    logs = out.out + out.err + caplog.text
    assert "transfer processed" in logs
    assert connected.token not in logs
    assert new_token not in logs


def test_schedule_requeues_transfers_stranded_in_queued(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from sevbridge import wiring
    from sevbridge.workers import schedule
    from tests.functional.conftest import run_schedule_tick

    # The tick re-sends from transfer items: a live transfer has one once its message came back (it may
    # end in the dead-letter queue), or when its document is too big for its message — as here.
    documents_stay_in_the_ledger(monkeypatch)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    # The message is lost (as if the enqueue had failed and the platform never retried).
    boto3.client("sqs").purge_queue(QueueUrl=aws.environment()["TRANSFER_QUEUE_URL"])
    assert queue_depth(aws, "TransferQueue") == 0

    tick = run_schedule_tick

    assert tick()["requeued"] == 0  # too recent: it may still be on its way
    monkeypatch.setattr(schedule, "STRANDED_AFTER", schedule.STRANDED_AFTER * 0)
    monkeypatch.setattr(schedule, "STUCK_SENDING_AFTER", schedule.STUCK_SENDING_AFTER * 0)
    wiring.reset()
    assert tick()["requeued"] == 1
    drain(aws)
    transfer = only_transfer(api)
    assert transfer["status"] == "transferred"
    assert any("re-queued" in (h["note"] or "") for h in transfer["history"])
    assert len(invoices(sandbox_state, connected)) == 1


def test_a_failing_webhook_sweep_does_not_cost_the_tenants_their_visit(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    from sevbridge import wiring
    from sevbridge.workers import schedule
    from tests.functional.conftest import run_schedule_tick

    documents_stay_in_the_ledger(monkeypatch)  # the tick re-sends from items (see the test above)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    boto3.client("sqs").purge_queue(QueueUrl=aws.environment()["TRANSFER_QUEUE_URL"])  # the message is lost
    monkeypatch.setattr(schedule, "STRANDED_AFTER", schedule.STRANDED_AFTER * 0)
    # The sweep reads due deliveries from the outbox table: without it, the sweep fails.
    boto3.client("dynamodb").delete_table(TableName=aws.environment()["OUTBOX_TABLE"])
    wiring.reset()
    with pytest.raises(ClientError):
        run_schedule_tick()  # the tick still fails, so the error alarm sees the broken sweep
    assert queue_depth(aws, "TransferQueue") == 1  # but the stranded transfer was re-queued first
    assert any("re-queued" in (h["note"] or "") for h in only_transfer(api)["history"])


@pytest.mark.parametrize(
    "cursor",
    ["not-base64!", "eyJwayI6IHsiUyI6ICJ4In19", "dHJfMDAw", "e30", "W10", "bnVsbA"],
)
def test_foreign_or_crafted_cursors_are_refused_with_422(api: HandlerApiClient, connected: Any, cursor: str) -> None:
    result = api.get(TRANSFERS, query={"cursor": cursor})
    assert result.status == 422, result.body
    assert result.json["error"]["details"][0]["field"] == "query.cursor"


def test_paging_with_a_status_filter(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    batch = [load_event("platform-invoice-upserted.json", id=f"e{i}") for i in range(5)]
    for i, event in enumerate(batch):
        event["data"]["source_id"] = f"inv-{i}"
        event["data"]["positions"][0]["unit"] = "Fass"  # every one fails: unknown unit
    api.post(EVENTS, json_body={"events": batch})
    drain(aws)
    seen: list[str] = []
    cursor = None
    while True:
        query = {"status": "failed", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get(TRANSFERS, query=query).json
        seen += [t["source_id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"inv-{i}" for i in range(5)]


def test_p3_invoices_carry_the_contacts_billing_address(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    from datetime import date

    event = load_event("platform-contact-upserted.json")
    paid = event["data"]["invoices"][0]
    paid["invoice_date"], paid["paid_at"] = f"{date.today().year}-03-02", f"{date.today().year}-03-10"
    assert "customer" not in paid  # embedded invoices belong to the enclosing contact
    api.post(EVENTS, json_body=event)
    drain(aws)

    (invoice,) = invoices(sandbox_state, connected)
    assert "Musterstraße 1" in (invoice["address"] or "")
    assert "10115 Berlin" in (invoice["address"] or "")
    (contact,) = contacts(sandbox_state, connected)
    assert str(invoice["contact"]["id"]) == str(contact["id"])


def test_p3_invoice_of_another_customer_is_refused(api: HandlerApiClient, connected: Any) -> None:
    event = load_event("platform-contact-upserted.json")
    event["data"]["invoices"][1]["customer"] = {"source_id": "someone-else", "company_name": "Other GmbH"}
    result = api.post(EVENTS, json_body=event)
    assert result.status == 422
    detail = result.json["error"]["details"][0]
    assert detail["field"] == "data.invoices"
    assert "invoices.1.customer.source_id" in detail["problem"]


def test_p3_invoices_respect_auto_transfer_off(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    from datetime import date

    api.put("/v1/tenants/school-42/connection", json_body={"settings": {"auto_transfer": False}})
    event = load_event("platform-contact-upserted.json")
    paid = event["data"]["invoices"][0]
    paid["invoice_date"], paid["paid_at"] = f"{date.today().year}-03-02", f"{date.today().year}-03-10"
    api.post(EVENTS, json_body=event)
    drain(aws)

    by_source = {t["source_id"]: t for t in transfers(api)}
    assert by_source["cust-1001"]["status"] == "transferred"
    assert by_source["inv-2026-001"]["status"] == "skipped"
    assert "automatic transfer is off" in by_source["inv-2026-001"]["reason"]
    assert invoices(sandbox_state, connected) == []
