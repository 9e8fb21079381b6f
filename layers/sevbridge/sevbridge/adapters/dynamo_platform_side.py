"""The push direction as imports see it: the tenant's push mappings (the `map` attribute of the ledger's
document items `DOC#<kind>#…`, written by the push domain: adapters/dynamo_mappings.py) and its
not-yet-applied transfers (ledger). Read once per import run, and only when a changed record needs them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_items import from_item, tenant_pk
from sevbridge.adapters.dynamo_mappings import MAP_ATTR, mapping_row, mapping_sk
from sevbridge.domain.ledger import TransferKind, TransferStatus
from sevbridge.domain.ports import LedgerStore
from sevbridge.domain.pull.ports import PushedContact, PushedInvoice
from sevbridge.domain.push.ports import MappingKind, MappingRow


class DynamoPlatformSide:
    """Implements sevbridge.domain.pull.ports.PlatformSide for one tenant."""

    def __init__(self, ledger_table: str, ledger: LedgerStore, platform_id: str, tenant_id: str) -> None:
        self._table = ledger_table
        self._ledger = ledger
        self._platform_id = platform_id
        self._tenant_id = tenant_id

    def _rows(self, kind: MappingKind) -> Iterator[MappingRow]:
        prefix = mapping_sk(kind, "")
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :doc)",
            # Documents with a pointer but no push yet (queued) carry no mapping.
            FilterExpression="attribute_exists(#m)",
            ExpressionAttributeValues={
                ":pk": {"S": tenant_pk(self._platform_id, self._tenant_id)},
                ":doc": {"S": prefix},
            },
            ProjectionExpression="sk, #m",
            ExpressionAttributeNames={"#m": MAP_ATTR},
        ):
            for item in page.get("Items", []):
                values: dict[str, Any] = from_item(item)
                yield mapping_row(kind, values["sk"].removeprefix(prefix), values[MAP_ATTR])

    def pushed_contacts(self) -> Mapping[str, PushedContact]:
        return {
            row.sevdesk_id: PushedContact(
                source_id=row.source_id, version=row.version, echo_hash=row.echo_hash, echo_at=row.echo_at
            )
            for row in self._rows("contact")
            if row.sevdesk_id and row.source_id
        }

    def _live_on_pointers(self) -> Iterator[tuple[str, datetime]]:
        """(contact source id, version) of the documents with a transfer pending on the transfer queue: a
        live transfer has no item (its message carries the document), so its pointer says so (`live`, and
        for an invoice or draft its customer, `cust`)."""
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :doc)",
            FilterExpression="attribute_exists(#live)",
            ExpressionAttributeValues={
                ":pk": {"S": tenant_pk(self._platform_id, self._tenant_id)},
                ":doc": {"S": "DOC#"},
            },
            ProjectionExpression="sk, #cust, #version",
            ExpressionAttributeNames={"#live": "live", "#cust": "cust", "#version": "version"},
        ):
            for item in page.get("Items", []):
                values: dict[str, Any] = from_item(item)
                _, kind, source_id = str(values["sk"]).split("#", 2)
                contact = source_id if kind == TransferKind.CONTACT.value else values.get("cust")
                if contact and values.get("version"):
                    yield str(contact), datetime.fromisoformat(values["version"])

    def pushed_invoices(self) -> Sequence[PushedInvoice]:
        return [
            PushedInvoice(source_id=row.source_id, sevdesk_id=row.sevdesk_id, number=row.number, status=row.status)
            for row in self._rows("invoice")
            if row.source_id and not row.seen_only
        ]

    def pending_contact_versions(self) -> Mapping[str, datetime]:
        newest: dict[str, datetime] = {}
        # Open ones from the ledger's open tail (its low-water mark on), parked ones from its index.
        pending = self._ledger.open_transfers(self._platform_id, self._tenant_id) + self._ledger.with_status(
            self._platform_id, self._tenant_id, TransferStatus.WAITING_FOR_CREDENTIALS
        )
        for contact, pending_version in self._live_on_pointers():
            if contact not in newest or pending_version > newest[contact]:
                newest[contact] = pending_version
        for transfer in pending:
            if transfer.kind is TransferKind.CONTACT:
                source_id: Any = transfer.source_id
            else:  # invoices and project drafts carry their customer (I3)
                customer = transfer.payload.get("customer")
                source_id = customer.get("source_id") if isinstance(customer, dict) else None
            if isinstance(source_id, str) and source_id:
                version = transfer.source_version
                if source_id not in newest or version > newest[source_id]:
                    newest[source_id] = version
        return newest
