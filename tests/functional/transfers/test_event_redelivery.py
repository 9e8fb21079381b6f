"""A redelivered event is answered from its documents' pointers (no receipt item): each pointer carries
the id and body hash of the event that made its transfer, and an event's transfer ids share one stem
(docs/ledger.md, "Items"). Exactly once: a redelivery — sequential, concurrent, or after a crash between
intake's writes — makes no second transfer, and every document is sent once."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from sevbridge import wiring
from sevbridge.domain.ledger import stem_of
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.ledger_items import transfer_items
from tests.support.sent_messages import SentMessages
from tests.support.worker import drain, queue_depth

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"
LOOKUP = "/v1/tenants/school-42/transfers/lookup"


def invoice(event_id: str, occurred_at: str, number: str = "PL-2026-020") -> dict[str, Any]:
    return load_event("platform-invoice-upserted.json", id=event_id, occurred_at=occurred_at, data__number=number)


def test_the_same_event_delivered_twice_at_once_makes_one_transfer(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any, sent: SentMessages
) -> None:
    """Both deliveries read the (absent) pointer before either writes it: the loser's conditional write
    fails, it reads the winner's pointer — same event, same body — and answers with the winner's id
    without storing anything of its own."""
    from sevbridge.adapters import aws_clients

    event = invoice("evt-twice", "2026-11-21T14:00:00+01:00")
    connection = wiring.connection_store().get(wiring.connection_store().list_connections()[0].platform_id, "school-42")
    assert connection is not None
    both_read = threading.Barrier(2, timeout=10)
    waits = threading.local()

    def hold_until_both_read(**_: Any) -> None:
        if not getattr(waits, "done", False):  # each delivery's first pointer write
            waits.done = True
            both_read.wait()

    client = aws_clients.dynamodb()
    client.meta.events.register("before-call.dynamodb.UpdateItem", hold_until_both_read, unique_id="twice")
    answers: list[Any] = []
    try:
        threads = [
            threading.Thread(target=lambda: answers.append(wiring.intake().accept(connection, [event])))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        client.meta.events.unregister("before-call.dynamodb.UpdateItem", unique_id="twice")

    assert len(answers) == 2
    first, second = (a[0] for a in answers)
    assert first.status == second.status == "accepted"
    assert first.answer == second.answer
    (transfer,) = first.answer["transfers"]
    assert set(sent.bodies) == {transfer["transfer_id"]}  # one transfer, sent (its copy is the same one)
    assert transfer_items() == []  # its message carries the document
    drain(aws)
    assert api.get(f"/v1/tenants/school-42/transfers/{transfer['transfer_id']}").json["status"] == "transferred"
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1
    again = api.post(EVENTS, json_body=event)  # and once more, sequentially: the same answer
    assert again.json["results"][0]["transfers"] == first.answer["transfers"]
    assert set(sent.bodies) == {transfer["transfer_id"]} and transfer_items() == []


def test_a_contact_event_stopped_after_its_first_pointer_is_completed_under_the_same_ids(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any, sent: SentMessages
) -> None:
    """The contact's pointer was written, its invoices' pointers and all transfer items were not: the
    retry finds the event on the contact's pointer, so every document gets the id of the first delivery
    (one stem, the document's position), and each is sent once."""
    from botocore.exceptions import EndpointConnectionError

    from sevbridge.adapters import aws_clients

    event = load_event("platform-contact-upserted.json")
    year = date.today().year
    paid, old, draft = event["data"]["invoices"]
    paid["invoice_date"], paid["paid_at"], old["invoice_date"] = f"{year}-03-02", f"{year}-03-10", f"{year - 1}-12-15"
    draft["invoice_date"] = f"{year}-11-18"
    writes = {"left": 1}

    def die_after_the_first(**_: Any) -> None:
        if writes["left"] == 0:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-central-1.amazonaws.com")
        writes["left"] -= 1

    client = aws_clients.dynamodb()
    client.meta.events.register("before-call.dynamodb.UpdateItem", die_after_the_first, unique_id="die")
    try:
        assert api.post(EVENTS, json_body=event).status >= 500
    finally:
        client.meta.events.unregister("before-call.dynamodb.UpdateItem", unique_id="die")
    documents = [{"kind": "contact", "source_id": "cust-1001"}, {"kind": "invoice", "source_id": "inv-2026-001"}]
    contact, paid_state = api.post(LOOKUP, json_body={"documents": documents}).json["documents"]
    assert (contact["status"], paid_state["status"]) == ("queued", "not_transferred")
    assert transfer_items() == []

    second = api.post(EVENTS, json_body=event)
    assert second.status == 202, second.body
    transfers = second.json["results"][0]["transfers"]
    assert transfers[0]["transfer_id"] == contact["transfer_id"]
    stem = stem_of(contact["transfer_id"])
    assert all(stem_of(t["transfer_id"]) == stem for t in transfers)
    assert len({t["transfer_id"] for t in transfers}) == len(transfers) == 4
    assert api.post(EVENTS, json_body=event).json == second.json  # and the same answer again
    drain(aws)
    assert len(sandbox_state.objects(connected.account_id, "Contact")) == 1
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1  # the paid one; old and draft skipped
    states = [api.get(f"/v1/tenants/school-42/transfers/{t['transfer_id']}").json["status"] for t in transfers]
    assert states[:2] == ["transferred", "transferred"] and states[2:] == ["skipped", "skipped"]
    # The two to send were sent (their messages carry the documents), under the first delivery's ids; the
    # skipped ones live on their pointers only. No transfer item.
    assert set(sent.bodies) == {t["transfer_id"] for t in transfers[:2]}
    assert transfer_items() == []


def test_an_event_whose_document_moved_on_to_a_newer_version_queues_nothing(
    api: HandlerApiClient, connected: Any, aws: Any, sandbox_state: Any
) -> None:
    """Once a newer version holds the document's pointer, the older event's id is no longer on it. Its
    redelivery is not mistaken for a new event: an older version never takes the document back, so
    nothing is stored or queued, and the answer names the transfer that covers the document now. An
    older event arriving for the first time is answered the same way."""
    older = invoice("evt-v1", "2026-11-21T14:00:00+01:00")
    first = api.post(EVENTS, json_body=older)
    assert first.status == 202
    older_id = first.json["results"][0]["transfers"][0]["transfer_id"]
    drain(aws)
    newer = api.post(EVENTS, json_body=invoice("evt-v2", "2026-11-21T15:00:00+01:00", number="PL-2026-020"))
    drain(aws)
    current = newer.json["results"][0]["transfers"][0]["transfer_id"]
    # The older transfer's state moved onto an item of its own when the newer one took the pointer (the
    # archive step: state only, no document); the current one has none.
    (archived,) = transfer_items()
    assert archived["sk"]["S"] == f"TRANSFER#{older_id}" and "doc" not in archived, archived

    for event in (older, invoice("evt-v0", "2026-11-21T13:00:00+01:00")):
        again = api.post(EVENTS, json_body=event)
        assert again.status == 202, again.body
        (covering,) = again.json["results"][0]["transfers"]
        assert (covering["transfer_id"], covering["status"]) == (current, "transferred")
        assert api.post(EVENTS, json_body=event).json == again.json
    assert len(transfer_items()) == 1
    assert queue_depth(aws, "TransferQueue") == 0
    lookup = api.post(LOOKUP, json_body={"documents": [{"kind": "invoice", "source_id": "inv-2026-020"}]})
    assert lookup.json["documents"][0]["transfer_id"] == current
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_a_reused_id_with_another_body_after_a_crash_is_a_conflict_and_stores_nothing(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    """The first delivery stopped after its pointer (before its message): the pointer's body hash tells a
    changed body apart."""
    from botocore.exceptions import EndpointConnectionError

    from sevbridge.adapters import aws_clients

    def refuse(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://sqs.eu-central-1.amazonaws.com")

    event = invoice("evt-reused", "2026-11-21T14:00:00+01:00")
    client = aws_clients.sqs()
    client.meta.events.register("before-call.sqs.SendMessageBatch", refuse, unique_id="refuse")
    try:
        assert api.post(EVENTS, json_body=event).status >= 500
    finally:
        client.meta.events.unregister("before-call.sqs.SendMessageBatch", unique_id="refuse")

    changed = invoice("evt-reused", "2026-11-21T14:00:00+01:00", number="PL-2026-999")
    conflict = api.post(EVENTS, json_body=changed)
    assert conflict.status == 409, conflict.body
    assert transfer_items() == []
    assert queue_depth(aws, "TransferQueue") == 0
    assert api.post(EVENTS, json_body=event).status == 202  # the original body completes the event
    assert queue_depth(aws, "TransferQueue") == 1 and transfer_items() == []


def test_ensure_reports_a_newer_version_it_does_not_replace(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    """`…/transfers/ensure` with an older event than the document's latest transfer, which did not go to
    sevDesk (a draft, skipped): `newer_version`, nothing queued — an older version never replaces it."""
    draft = invoice("evt-draft-v2", "2026-11-21T15:00:00+01:00")
    draft["data"]["status"] = "draft"
    assert api.post(EVENTS, json_body=draft).status == 202
    drain(aws)
    lookup = api.post(LOOKUP, json_body={"documents": [{"kind": "invoice", "source_id": "inv-2026-020"}]})
    latest = lookup.json["documents"][0]
    assert latest["status"] == "skipped", latest

    result = api.post(
        "/v1/tenants/school-42/transfers/ensure", json_body=invoice("evt-sent-v1", "2026-11-21T14:00:00+01:00")
    )
    assert result.status == 200, result.body
    (event,) = result.json["results"]
    assert event["status"] == "unchanged"
    assert event["documents"] == [
        {
            "kind": "invoice",
            "source_id": "inv-2026-020",
            "outcome": "newer_version",
            "transfer_id": latest["transfer_id"],
            "status": "skipped",
        }
    ]
    assert transfer_items() == []  # the skipped draft is current: its state is on its pointer
