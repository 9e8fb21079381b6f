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

    def pushed_invoices(self) -> Sequence[PushedInvoice]:
        return [
            PushedInvoice(source_id=row.source_id, sevdesk_id=row.sevdesk_id, number=row.number, status=row.status)
            for row in self._rows("invoice")
            if row.source_id and not row.seen_only
        ]

    def pending_contact_versions(self) -> Mapping[str, datetime]:
        newest: dict[str, datetime] = {}

        def note(source_id: Any, version: datetime) -> None:
            if isinstance(source_id, str) and source_id and (source_id not in newest or version > newest[source_id]):
                newest[source_id] = version

        # Pending live transfers from their documents' pointers (their documents travel in their queue
        # messages; the pointer names the customer of an invoice or draft: `cust`); other open ones (a
        # backfill's, re-opened ones) from the ledger's open tail, parked ones from its index.
        for kind, source_id, customer, version in self._live_documents():
            note(source_id if kind == TransferKind.CONTACT.value else customer, version)
        pending = self._ledger.open_transfers(self._platform_id, self._tenant_id) + self._ledger.with_status(
            self._platform_id, self._tenant_id, TransferStatus.WAITING_FOR_CREDENTIALS
        )
        for transfer in pending:
            if transfer.kind is TransferKind.CONTACT:
                note(transfer.source_id, transfer.source_version)
            else:  # invoices and project drafts carry their customer (I3)
                customer = transfer.payload.get("customer")
                note(customer.get("source_id") if isinstance(customer, dict) else None, transfer.source_version)
        return newest

    def _live_documents(self) -> Iterator[tuple[str, str, str | None, datetime]]:
        """(kind, source id, customer source id, version) of each document with a pending live transfer:
        every `DOC#` item is read (the filter only trims the answer) — O(documents), once per import run
        that has contact changes to publish (PlatformLookups.pending). The version is the current
        transfer's: the pending one's, or newer when a backfill's copy took the pointer over."""
        paginator = aws_clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :doc)",
            FilterExpression="attribute_exists(#live)",
            # Consistent, as the open-tail read it replaces: a contact event accepted just now is pending.
            ConsistentRead=True,
            ExpressionAttributeValues={
                ":pk": {"S": tenant_pk(self._platform_id, self._tenant_id)},
                ":doc": {"S": "DOC#"},
            },
            ProjectionExpression="sk, #version, #cust",
            ExpressionAttributeNames={"#live": "live", "#version": "version", "#cust": "cust"},
        ):
            for item in page.get("Items", []):
                values: dict[str, Any] = from_item(item)
                _, kind, source_id = values["sk"].split("#", 2)
                yield kind, source_id, values.get("cust"), datetime.fromisoformat(values["version"])
