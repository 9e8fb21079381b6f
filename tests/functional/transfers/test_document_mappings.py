"""The push's mapping lives on the ledger's document item (`DOC#<kind>#<source id>`, attribute `map`;
adapters/dynamo_mappings.py): the transfer's outcome write carries it (docs/ledger.md). Pointer writes
and mapping writes set disjoint attributes, so neither loses the other's, in either order; a customer
contact created inside an invoice's push has an item with a mapping and no pointer until a transfer of
its own comes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
from sevbridge.config import get_settings
from sevbridge.domain.intake_models import DocumentKey
from sevbridge.domain.ledger import TransferKind, TransferStatus
from sevbridge.domain.push.ports import MappingRow
from sevdesk_sandbox import Fault
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_seed import queued_invoice
from tests.support.worker import drain

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
LOOKUP = "/v1/tenants/school-42/transfers/lookup"


def platform_id() -> str:
    return wiring.connection_store().list_connections()[0].platform_id


def doc_item(kind: str, source_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName=get_settings().ledger_table,
        Key={"pk": {"S": tenant_pk(platform_id(), "school-42")}, "sk": {"S": f"DOC#{kind}#{source_id}"}},
        ConsistentRead=True,
    )
    return dict(item.get("Item", {}))


def store() -> DynamoMappingStore:
    settings = get_settings()
    return DynamoMappingStore(settings.ledger_table, settings.tenants_table)


def test_a_customer_created_by_an_invoice_gets_its_own_transfer_on_the_item_holding_its_mapping(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    assert api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json")).status == 202
    drain(aws)
    [contact] = sandbox_state.objects(connected.account_id, "Contact")
    customer = doc_item("contact", "cust-2002")
    assert "map" in customer and "tid" not in customer, customer  # a mapping, no transfer of its own
    assert json.loads(customer["map"]["S"])["i"] == str(contact["id"])
    [answer] = api.post(LOOKUP, json_body={"documents": [{"kind": "contact", "source_id": "cust-2002"}]}).json[
        "documents"
    ]
    assert answer["status"] == "not_transferred", answer
    invoice = doc_item("invoice", "inv-2026-020")
    assert "tid" in invoice and "map" in invoice  # the invoice's outcome write carried its mapping

    # The contact's own transfer: intake's pointer write lands on that item, the mapping stays.
    event = load_event(
        "platform-contact-upserted.json",
        id="evt-cust-2002",
        occurred_at="2026-11-22T09:00:00+01:00",
        data__source_id="cust-2002",
        data__invoices=[],
    )
    assert api.post(EVENTS, json_body=event).status == 202
    drain(aws)

    [answer] = api.post(LOOKUP, json_body={"documents": [{"kind": "contact", "source_id": "cust-2002"}]}).json[
        "documents"
    ]
    assert answer["status"] == "transferred" and answer["sevdesk_id"] == str(contact["id"]), answer
    assert len(sandbox_state.objects(connected.account_id, "Contact")) == 1  # found by its mapping
    after = store().get(platform_id(), "school-42", "contact", "cust-2002")
    assert after is not None and after.sevdesk_id == str(contact["id"])


def test_pointer_writes_and_a_customer_mapping_write_keep_each_others_attributes(connected: Any, aws: Any) -> None:
    """A contact's transfer (rev-conditional pointer writes) and an invoice's push writing that contact's
    mapping as its customer, interleaved on the same item."""
    ledger = wiring.ledger()
    pid, now = platform_id(), datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    contact = queued_invoice(pid, "cust-9", "evt-9", version=now, at=now).model_copy(
        update={"kind": TransferKind.CONTACT}
    )
    ledger.record_transfers([contact])
    claimed = ledger.save(contact.moved_to(TransferStatus.SENDING, now, "attempt 1", attempts=1))

    # The invoice's push writes the customer's mapping while the contact's transfer holds its claim ...
    customer = MappingRow("contact", "cust-9", sevdesk_id="77", number="K-9", version=now)
    store().put(pid, "school-42", customer)
    # ... and the contact's outcome (conditional on the revision its claim wrote) comes after it.
    ledger.save(claimed.moved_to(TransferStatus.TRANSFERRED, now, "done", sevdesk_id="77"))

    item = doc_item("contact", "cust-9")
    assert "claim" not in item and item["tid"]["S"] == contact.transfer_id
    assert store().get(pid, "school-42", "contact", "cust-9") == customer  # the outcome kept it
    (state,) = ledger.lookup(pid, "school-42", [DocumentKey(kind=TransferKind.CONTACT, source_id="cust-9")])
    assert state is not None and state.status is TransferStatus.TRANSFERRED

    # The other way round: a mapping write after the pointer's leaves every pointer attribute as it was.
    newer = MappingRow("contact", "cust-9", sevdesk_id="77", number="K-10", version=now + timedelta(minutes=1))
    store().put(pid, "school-42", newer)
    again = doc_item("contact", "cust-9")
    assert {k: v for k, v in again.items() if k != "map"} == {k: v for k, v in item.items() if k != "map"}
    assert store().get(pid, "school-42", "contact", "cust-9") == newer


def test_the_mapping_goes_to_the_document_when_the_pointer_moved_on(connected: Any, aws: Any) -> None:
    """Mapping is per document, not per transfer: an older transfer's outcome, recorded on its own item
    after a newer transfer took the pointer (and, rarer, the claim) over, still sets the document's."""
    ledger = wiring.ledger()
    pid, now = platform_id(), datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    older = queued_invoice(pid, "inv-moved", "evt-a", version=now, at=now)
    claimed = ledger.save(_pointed(ledger, older).moved_to(TransferStatus.SENDING, now, "attempt 1", attempts=1))
    newer = queued_invoice(pid, "inv-moved", "evt-b", version=now + timedelta(minutes=1), at=now)
    ledger.record_transfers([newer])  # the pointer moves on; the older transfer keeps the claim

    row = MappingRow("invoice", "inv-moved", sevdesk_id="5", number="RE-5", status=200, version=now)
    ledger.save(claimed.moved_to(TransferStatus.TRANSFERRED, now, "done", sevdesk_id="5"), mapping=row)
    assert store().get(pid, "school-42", "invoice", "inv-moved") == row
    assert doc_item("invoice", "inv-moved")["tid"]["S"] == newer.transfer_id

    # The claim ran out and a newer transfer holds it now: the mapping is written on its own.
    stale = queued_invoice(pid, "inv-late", "evt-c", version=now, at=now)
    late = ledger.save(_pointed(ledger, stale).moved_to(TransferStatus.SENDING, now, "attempt 1", attempts=1))
    _expire_claim(pid, "inv-late")
    later = queued_invoice(pid, "inv-late", "evt-d", version=now + timedelta(minutes=1), at=now)
    ledger.record_transfers([later])
    ledger.save(later.moved_to(TransferStatus.SENDING, now + timedelta(minutes=20), "attempt 1", attempts=1))
    row = MappingRow("invoice", "inv-late", sevdesk_id="6", number="RE-6", status=200, version=now)
    ledger.save(late.moved_to(TransferStatus.TRANSFERRED, now, "done", sevdesk_id="6"), mapping=row)
    assert store().get(pid, "school-42", "invoice", "inv-late") == row
    assert doc_item("invoice", "inv-late")["claim"]["S"] == later.transfer_id  # untouched


def test_a_failed_step_records_what_the_push_reached_with_the_failure(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    """The runner's failure write carries the held row: the saved invoice is known to the retry, which
    sends it instead of looking for it (no second saveInvoice, no marker search)."""
    sandbox_state.add_fault(
        Fault(kind="status", status=400, account_id=connected.account_id, path_pattern=r"^/Invoice/\d+/sendBy$")
    )
    assert api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json")).status == 202
    drain(aws)
    [transfer] = api.get("/v1/tenants/school-42/transfers", query={"kind": "invoice"}).json["items"]
    assert transfer["status"] == "failed", transfer
    [saved] = sandbox_state.objects(connected.account_id, "Invoice")
    row = store().get(platform_id(), "school-42", "invoice", "inv-2026-020")
    assert row is not None and row.sevdesk_id == str(saved["id"]) and row.status == 100, row

    assert api.post(f"/v1/tenants/school-42/transfers/{transfer['transfer_id']}/retry").status in (200, 202)
    drain(aws)

    [done] = api.get("/v1/tenants/school-42/transfers", query={"kind": "invoice"}).json["items"]
    assert done["status"] == "transferred" and done["sevdesk_id"] == str(saved["id"]), done
    saves = [r for r in sandbox_state.requests(connected.account_id) if r.path == "/Invoice/Factory/saveInvoice"]
    assert len(saves) == 1 and len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def _pointed(ledger: Any, transfer: Any) -> Any:
    ledger.record_transfers([transfer])
    return transfer


def _expire_claim(pid: str, source_id: str) -> None:
    boto3.client("dynamodb").update_item(
        TableName=get_settings().ledger_table,
        Key={"pk": {"S": tenant_pk(pid, "school-42")}, "sk": {"S": f"DOC#invoice#{source_id}"}},
        UpdateExpression="SET claim_until = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )


def test_a_contact_whose_worker_died_after_its_create_is_found_by_the_number_stored_before_it(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contact's own mapping waits for the outcome write, except the row written before `POST
    /Contact` (the customer number sevbridge chose): that one is stored at once, so a create whose worker
    died before the contact was marked is found again by it, not made twice."""
    from sevbridge.adapters.sevdesk.gateway import SevdeskGateway

    real_mark = SevdeskGateway.create_custom_field
    died: list[str] = []

    def die_before_marking(self: SevdeskGateway, contact_id: str, setting_id: str, value: str) -> None:
        if not died:
            died.append(contact_id)
            raise SystemExit("worker killed")  # not an Exception: nothing in our code handles it
        real_mark(self, contact_id, setting_id, value)

    monkeypatch.setattr(SevdeskGateway, "create_custom_field", die_before_marking)
    event = load_event("platform-contact-upserted.json", data__customer_number=None, data__invoices=[])
    assert api.post(EVENTS, json_body=event).status == 202
    with pytest.raises(SystemExit):
        drain(aws)
    [created] = sandbox_state.objects(connected.account_id, "Contact")
    pending = store().get(platform_id(), "school-42", "contact", "cust-1001")
    assert pending is not None and pending.create_in_flight and pending.number == created["customerNumber"]

    drain(aws)  # redelivery: still `sending` → uncertain → the number of the create in flight finds it

    assert len(sandbox_state.objects(connected.account_id, "Contact")) == 1
    row = store().get(platform_id(), "school-42", "contact", "cust-1001")
    assert row is not None and row.sevdesk_id == str(created["id"]) and not row.create_in_flight
