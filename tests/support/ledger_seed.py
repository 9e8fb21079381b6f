"""Seeds a tenant's ledger with many settled transfers from the past, through the ledger's own write
path (DynamoLedgerStore.record_transfers): the history the stranded-work tick must not read again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sevbridge.domain.ledger import Transfer, TransferKind, TransferStatus, new_transfer_id


def transfer_id_at(moment_ms: int, n: int = 0) -> str:
    """A transfer id created at `moment_ms` (the layout of new_transfer_id)."""
    return f"tr_{moment_ms:012x}{n % 0x10000:04x}{n % 0x1000000:06x}"


def settled_copies(template: Transfer, count: int, *, created_ms: int, prefix: str = "old") -> list[Transfer]:
    """`count` transferred copies of `template`, each its own document, with ids from `created_ms` on."""
    created = datetime.fromtimestamp(created_ms / 1000, UTC)
    return [
        template.model_copy(
            update={
                "transfer_id": transfer_id_at(created_ms + i, i),
                "source_id": f"{prefix}-{i}",
                "status": TransferStatus.TRANSFERRED,
                "sevdesk_id": str(900_000 + i),
                "created_at": created + timedelta(milliseconds=i),
                "updated_at": created + timedelta(milliseconds=i),
            }
        )
        for i in range(count)
    ]


def queued_invoice(platform_id: str, source_id: str, event_id: str, *, version: datetime, at: datetime) -> Transfer:
    """A queued transfer of an invoice of tenant school-42 (payload empty: for tests of the ledger itself)."""
    return Transfer(
        transfer_id=new_transfer_id(),
        platform_id=platform_id,
        tenant_id="school-42",
        kind=TransferKind.INVOICE,
        source_id=source_id,
        event_id=event_id,
        event_type="invoice.upserted",
        status=TransferStatus.QUEUED,
        source_version=version,
        payload={},
        created_at=at,
        updated_at=at,
    )
