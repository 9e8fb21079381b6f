"""Reading and re-sending transfers (I6) and resuming parked work when a new token arrives (C3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sevbridge.domain.errors import Conflict, NotFound
from sevbridge.domain.intake_models import DocumentKey, DocumentState, TransferPage, TransferQuery
from sevbridge.domain.ledger import Transfer, TransferStatus
from sevbridge.domain.ports import Clock, LedgerStore, TransferQueue

OPEN = frozenset({TransferStatus.QUEUED, TransferStatus.SENDING})


@dataclass
class TransferOps:
    ledger: LedgerStore
    queue: TransferQueue
    clock: Clock
    # Re-queued transfers go to the transfer queue (live): their pointers name them as pending (a backfill's
    # claim waits). False for the backfill's retry-failed, which runs them itself.
    live: bool = True

    def get(self, platform_id: str, tenant_id: str, transfer_id: str) -> Transfer:
        """To be shown: a current transfer whose document is not stored comes without its payload."""
        transfer = self.ledger.get(platform_id, tenant_id, transfer_id, shown=True)
        if transfer is None:
            raise NotFound("this tenant has no such transfer")
        return transfer

    def list_transfers(self, platform_id: str, tenant_id: str, query: TransferQuery) -> TransferPage:
        return self.ledger.query(platform_id, tenant_id, query)

    def lookup(self, platform_id: str, tenant_id: str, documents: list[DocumentKey]) -> list[DocumentState | None]:
        """Each document's latest transfer (None: nothing accepted for it), read by key (I6)."""
        return self.ledger.lookup(platform_id, tenant_id, documents)

    def retry(self, platform_id: str, tenant_id: str, transfer_id: str) -> Transfer:
        transfer = self.get(platform_id, tenant_id, transfer_id)
        if transfer.status is not TransferStatus.FAILED:
            hint = {
                TransferStatus.WAITING_FOR_CREDENTIALS: "it resumes by itself when a new sevDesk token is stored",
                TransferStatus.SKIPPED: "send an invoice.transfer_requested event to transfer it manually",
            }.get(transfer.status, "only failed transfers can be retried")
            raise Conflict(f"transfer {transfer_id} is {transfer.status.value}: {hint}")
        requeued = self._requeue([transfer], "retry requested")
        # It changed meanwhile, a newer transfer of its document replaced it, or its document is not stored.
        if not requeued:
            raise Conflict(
                f"transfer {transfer_id} cannot be sent again now (changed meanwhile, or replaced by a newer "
                "transfer of its document): read it again"
            )
        return requeued[0]

    def retry_all_failed(self, platform_id: str, tenant_id: str) -> list[Transfer]:
        return self._requeue(self.ledger.with_status(platform_id, tenant_id, TransferStatus.FAILED), "retry requested")

    def resume_parked(self, platform_id: str, tenant_id: str) -> int:
        parked = self.ledger.with_status(platform_id, tenant_id, TransferStatus.WAITING_FOR_CREDENTIALS)
        return len(self._requeue(parked, "new sevDesk token stored"))

    def requeue_stranded(
        self, platform_id: str, tenant_id: str, *, queued_for: timedelta, sending_for: timedelta
    ) -> int:
        """Re-sends transfers stuck longer than any redelivery could take: `queued` ones whose message
        was never sent (the queue failed after the ledger write and the platform did not retry), and
        `sending` ones whose worker died for good (they are re-sent as uncertain, so they reconcile).
        A duplicate message is harmless: the worker acknowledges transfers that are already done."""
        now = self.clock.now()
        # One read of the tenant's open tail (from its low-water mark), which also moves the mark up.
        stranded = [
            t
            for t in self.ledger.open_transfers(platform_id, tenant_id, advance=True)
            if t.updated_at < now - (queued_for if t.status is TransferStatus.QUEUED else sending_for)
        ]
        return len(self._requeue(stranded, "re-queued: no progress for too long"))

    def _requeue(self, transfers: list[Transfer], note: str) -> list[Transfer]:
        now = self.clock.now()
        # The status index is eventually consistent: act only on rows whose current state still matches.
        # Re-sent only from an item holding its document: `get` (not `shown`) gives no current transfer that
        # has no item, and `stored` is False for an item the archive step wrote without a document (a
        # transfer a newer one of its document replaced: never re-sent).
        transfers = [
            current
            for t in transfers
            if (current := self.ledger.get(t.platform_id, t.tenant_id, t.transfer_id)) is not None
            and current.stored
            and current.status is t.status
            and current.updated_at == t.updated_at
        ]
        requeued = [
            t.moved_to(
                TransferStatus.QUEUED,
                now,
                note,
                requeues=t.requeues + 1,
                last_error=t.last_error,
                # An open transfer re-sent (stranded): a delivery of it may have died mid-attempt, and a live
                # attempt writes nothing before it calls sevDesk. A new message starts a new delivery record.
                uncertain=t.uncertain or t.status in OPEN,
                delivery=None,
                live=self.live,
            )
            for t in sorted(transfers, key=lambda t: t.transfer_id)
        ]
        # Settled transfers (failed, parked) that become open again are held inside what the stranded-work
        # tick reads (the ledger's low-water mark) before they are written: if the queue fails after the
        # ledger write, or the process dies, the tick still finds them.
        reopened = [t for t in transfers if t.status not in OPEN]
        for platform_id, tenant_id in dict.fromkeys((t.platform_id, t.tenant_id) for t in reopened):
            ids = [t.transfer_id for t in reopened if (t.platform_id, t.tenant_id) == (platform_id, tenant_id)]
            self.ledger.hold_open(platform_id, tenant_id, ids)
        # Ledger first, then the queue: a crash in between leaves rows `queued` that the tick re-sends,
        # and the worker ignores messages for rows that are not runnable.
        for t in requeued:
            self.ledger.save(t)
        if requeued:
            self.queue.enqueue(requeued)
        return requeued


@dataclass
class LedgerParkedWork:
    """The ParkedWork port of the connection service, backed by the ledger."""

    ops: TransferOps

    def resume(self, platform_id: str, tenant_id: str) -> int:
        return self.ops.resume_parked(platform_id, tenant_id)
