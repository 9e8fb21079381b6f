"""The ledger in DynamoDB: transfers (sk TRANSFER#<id>) and event receipts (sk EVENT#<id>), both under
the tenant's partition. gsi1 indexes transfers by status (gsi1pk = <pk>#STATUS#<status>)."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk, to_item
from sevbridge.adapters.dynamo_outbox import StateConditionFailed, write_with_notices
from sevbridge.domain.errors import InvalidInput, TransferGone
from sevbridge.domain.intake_models import RECEIPT_DAYS, EventReceipt, TransferPage, TransferQuery
from sevbridge.domain.ledger import Transfer, TransferStatus
from sevbridge.domain.notify.notices import Notices


def _status_key(pk: str, status: TransferStatus) -> str:
    return f"{pk}#STATUS#{status.value}"


class DynamoLedgerStore:
    def __init__(self, table: str, outbox_table: str | None = None) -> None:
        self._table = table
        self._outbox_table = outbox_table

    # --- event receipts -------------------------------------------------------------------------
    def _receipt_item(self, receipt: EventReceipt) -> dict[str, Any]:
        expires = receipt.created_at + timedelta(days=RECEIPT_DAYS)
        return to_item(
            {
                "pk": tenant_pk(receipt.platform_id, receipt.tenant_id),
                "sk": f"EVENT#{receipt.event_id}",
                "enqueued": receipt.enqueued,
                "doc": receipt.model_dump_json(),
                "expires_at": int(expires.timestamp()),
            }
        )

    def record_event(self, receipt: EventReceipt, transfers: list[Transfer]) -> bool:
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._receipt_item(receipt),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        items += [{"Put": {"TableName": self._table, "Item": self._transfer_item(t)}} for t in transfers]
        try:
            aws_clients.dynamodb().transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if (
                exc.response["Error"]["Code"] == "TransactionCanceledException"
                and reasons
                and reasons[0].get("Code") == "ConditionalCheckFailed"
            ):
                return False
            raise
        return True

    def record_events(self, events: list[tuple[EventReceipt, list[Transfer]]]) -> list[bool]:
        """Each event is its own transaction (≤ 100 items: receipt + transfers). Sequential on purpose:
        moto, which the local stack and the tests run on, is not safe for concurrent transactions."""
        return [self.record_event(receipt, transfers) for receipt, transfers in events]

    def _read(self, platform_id: str, tenant_id: str, sk: str) -> dict[str, Any] | None:
        item = aws_clients.dynamodb().get_item(
            TableName=self._table,
            Key=to_item({"pk": tenant_pk(platform_id, tenant_id), "sk": sk}),
            ConsistentRead=True,
        )
        return from_item(item["Item"]) if "Item" in item else None

    def get_receipt(self, platform_id: str, tenant_id: str, event_id: str) -> EventReceipt | None:
        values = self._read(platform_id, tenant_id, f"EVENT#{event_id}")
        if values is None:
            return None
        receipt = EventReceipt.model_validate_json(values["doc"])
        return receipt.model_copy(update={"enqueued": bool(values.get("enqueued"))})

    def mark_receipts_enqueued(self, receipts: list[EventReceipt]) -> None:
        client = aws_clients.dynamodb()
        items = [self._receipt_item(r.model_copy(update={"enqueued": True})) for r in receipts]
        for start in range(0, len(items), 25):
            request: Any = {self._table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
            while request:
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    # --- transfers --------------------------------------------------------------------------------
    def _transfer_item(self, transfer: Transfer) -> dict[str, Any]:
        pk = tenant_pk(transfer.platform_id, transfer.tenant_id)
        return to_item(
            {
                "pk": pk,
                "sk": f"TRANSFER#{transfer.transfer_id}",
                "gsi1pk": _status_key(pk, transfer.status),
                "gsi1sk": transfer.transfer_id,
                "status": transfer.status.value,
                "kind": transfer.kind.value,
                "source_id": transfer.source_id,
                "created_at": transfer.created_at.isoformat(),
                "doc": transfer.model_dump_json(),
            }
        )

    def get(self, platform_id: str, tenant_id: str, transfer_id: str) -> Transfer | None:
        values = self._read(platform_id, tenant_id, f"TRANSFER#{transfer_id}")
        return None if values is None else Transfer.model_validate_json(values["doc"])

    def save(self, transfer: Transfer, notices: Notices | None = None) -> None:
        """Updates an existing transfer (they are created only by record_event). Conditional, so a
        transfer still running when its tenant is offboarded cannot bring its row back. Notices go into
        the Outbox table in the same transaction."""
        if notices:
            self._save_with_notices(transfer, notices)
            return
        try:
            aws_clients.dynamodb().put_item(
                TableName=self._table,
                Item=self._transfer_item(transfer),
                ConditionExpression="attribute_exists(sk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise TransferGone(f"transfer {transfer.transfer_id} no longer exists") from None
            raise

    def _save_with_notices(self, transfer: Transfer, notices: Notices) -> None:
        if self._outbox_table is None:
            raise RuntimeError("DynamoLedgerStore was built without the outbox table")
        put = {
            "Put": {
                "TableName": self._table,
                "Item": self._transfer_item(transfer),
                "ConditionExpression": "attribute_exists(sk)",
            }
        }
        try:
            write_with_notices(self._outbox_table, [put], notices)
        except StateConditionFailed:
            raise TransferGone(f"transfer {transfer.transfer_id} no longer exists") from None

    def with_status(self, platform_id: str, tenant_id: str, status: TransferStatus) -> list[Transfer]:
        found: list[Transfer] = []
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :k",
            ExpressionAttributeValues={":k": {"S": _status_key(tenant_pk(platform_id, tenant_id), status)}},
        ):
            found += [Transfer.model_validate_json(from_item(i)["doc"]) for i in page.get("Items", [])]
        # The index is eventually consistent: re-check each row's current status.
        return sorted((t for t in found if t.status is status), key=lambda t: t.transfer_id)

    def query(self, platform_id: str, tenant_id: str, query: TransferQuery) -> TransferPage:
        pk = tenant_pk(platform_id, tenant_id)
        filters: list[str] = []
        values: dict[str, Any] = {}
        names: dict[str, str] = {}
        if query.status is not None:
            key_cond, index = "gsi1pk = :k", "gsi1"
            values[":k"] = {"S": _status_key(pk, query.status)}
        else:
            key_cond, index = "pk = :k AND begins_with(sk, :t)", None
            values[":k"] = {"S": pk}
            values[":t"] = {"S": "TRANSFER#"}
        for attr, value in (
            ("kind", query.kind.value if query.kind else None),
            ("source_id", query.source_id),
        ):
            if value is not None:
                filters.append(f"#{attr} = :{attr}")
                names[f"#{attr}"] = attr
                values[f":{attr}"] = {"S": value}
        if query.since is not None:
            filters.append("created_at >= :since")
            values[":since"] = {"S": query.since.isoformat()}
        if query.until is not None:
            filters.append("created_at < :until")
            values[":until"] = {"S": query.until.isoformat()}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": key_cond,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,  # newest first
        }
        if index:
            kwargs["IndexName"] = index
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if query.cursor:
            # The cursor carries only the last transfer id; the key is rebuilt here, with exactly the
            # attributes this table or index needs, so no client-made key ever reaches DynamoDB.
            after_id = _decode_cursor(query.cursor)
            start = {"pk": {"S": pk}, "sk": {"S": f"TRANSFER#{after_id}"}}
            if query.status is not None:
                start |= {"gsi1pk": {"S": _status_key(pk, query.status)}, "gsi1sk": {"S": after_id}}
            kwargs["ExclusiveStartKey"] = start
        items: list[Transfer] = []
        last_id: str | None = None
        client = aws_clients.dynamodb()
        while True:
            response = client.query(**kwargs)
            for raw in response.get("Items", []):
                items.append(Transfer.model_validate_json(from_item(raw)["doc"]))
                last_id = items[-1].transfer_id
                if len(items) == query.limit:
                    more = True
                    break
            else:
                more = "LastEvaluatedKey" in response
                if more:
                    kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
                    continue
            break
        cursor = _encode_cursor(last_id) if more and last_id and len(items) == query.limit else None
        return TransferPage(items=items, next_cursor=cursor)


_CURSOR_ID = re.compile(r"^tr_[0-9a-f]{14,40}$")


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        last_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        last_id = ""
    if not _CURSOR_ID.fullmatch(last_id):
        raise InvalidInput(
            "cursor is not valid", details=[{"field": "query.cursor", "problem": "not a cursor from this API"}]
        )
    return last_id
