"""A record handed back without running (no time to start it, its lane failed before it, its group
stopped) may be on its way to the dead-letter queue as surely as one the runner ran: a redelivery of a
live transfer gets its `TRANSFER#` item (its document, from the message) before it is handed back, so the
stranded-work tick, which reads items, can re-send it (docs/ledger.md, "Messages that come back"). A
first delivery is left alone: the happy path writes no item."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.workers import transfers as worker
from tests.functional.transfers.test_transfers_without_items import EVENTS, TRANSFERS, invoice
from tests.support.api_client import HandlerApiClient
from tests.support.ledger_items import transfer_items
from tests.support.worker import source_for

pytestmark = pytest.mark.functional


class _LittleTime:
    def get_remaining_time_in_millis(self) -> int:
        return 6_000  # less than CALLS_TO_START sevDesk timeouts after RESERVE_SECONDS: NoTimeToStart


def _received(aws: Any, receives: int) -> dict[str, Any]:
    """The queue's message as Lambda hands it over, received `receives` times."""
    url = source_for(aws, "TransferQueue").queue.url
    msg = boto3.client("sqs").receive_message(QueueUrl=url, AttributeNames=["All"], MaxNumberOfMessages=1)
    (message,) = msg["Messages"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {**message["Attributes"], "ApproximateReceiveCount": str(receives)},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


def test_a_redelivery_handed_back_unrun_keeps_its_transfer_for_the_tick(
    api: HandlerApiClient, connected: Any, aws: Any
) -> None:
    assert api.post(EVENTS, json_body=invoice("inv-q", "ev-q")).status == 202
    record = _received(aws, receives=50)  # the queue's maxReceiveCount: the next receive goes to the DLQ
    answer = worker.process_batch({"Records": [record]}, _LittleTime())  # type: ignore[arg-type]
    assert answer["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    (item,) = transfer_items()
    assert "doc" in item  # re-sendable without its message
    (current,) = api.get(TRANSFERS).json["items"]
    assert item["sk"]["S"] == f"TRANSFER#{current['transfer_id']}"
    assert current["status"] == "queued"
    # Where the stranded-work tick looks, with its document.
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    (open_transfer,) = wiring.ledger().open_transfers(platform_id, "school-42")
    assert open_transfer.transfer_id == current["transfer_id"] and open_transfer.payload


def test_a_first_delivery_handed_back_writes_no_item(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    assert api.post(EVENTS, json_body=invoice("inv-q", "ev-q")).status == 202
    record = _received(aws, receives=1)
    answer = worker.process_batch({"Records": [record]}, _LittleTime())  # type: ignore[arg-type]
    assert answer["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    assert transfer_items() == []


def test_keeping_a_transfer_whose_tenant_is_offboarded_meanwhile_leaves_no_item(
    api: HandlerApiClient, connected: Any, aws: Any, sent: Any
) -> None:
    """The pointer is read, then the tenant's rows are erased, then `keep` writes: the item it wrote is
    removed again, so a redelivery racing an offboarding brings no `TRANSFER#` row back (C5)."""
    from sevbridge.adapters import aws_clients
    from sevbridge.adapters.dynamo_items import tenant_pk
    from sevbridge.config import get_settings
    from sevbridge.domain.errors import TransferGone

    answer = api.post(EVENTS, json_body=invoice("inv-q", "ev-q"))
    transfer_id = answer.json["results"][0]["transfers"][0]["transfer_id"]
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    ledger = wiring.ledger()
    transfer = ledger.get(platform_id, "school-42", transfer_id, carried=sent.document(transfer_id), with_item=True)
    assert transfer is not None and not transfer.stored
    key = {"pk": {"S": tenant_pk(platform_id, "school-42")}, "sk": {"S": "DOC#invoice#inv-q"}}
    aws_clients.dynamodb().delete_item(TableName=get_settings().ledger_table, Key=key)  # the eraser, meanwhile
    with pytest.raises(TransferGone):
        ledger.keep(transfer)
    assert transfer_items() == []
    left = aws_clients.dynamodb().query(
        TableName=get_settings().ledger_table,
        KeyConditionExpression="pk = :k",
        ExpressionAttributeValues={":k": key["pk"]},
    )["Items"]
    assert [i["sk"]["S"] for i in left] == []  # nor the open mark its hold wrote
