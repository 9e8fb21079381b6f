"""Runs one transfer: the ledger state machine around a push to sevDesk (I6, I8, C3).

Outcomes: transferred / skipped (done), failed (needs a person: sevDesk's or our reason is kept),
waiting_for_credentials (token rejected: parked until a new token is stored), or RetryLater (the
message comes back after `delay` seconds; the ledger remembers whether the attempt may have reached
sevDesk so the next one reconciles instead of creating a duplicate).

Two ways to run: a live transfer (from the transfer queue, `delivery` given) writes nothing before it
calls sevDesk — FIFO keeps a document's live transfers serial, and its consistent read of the transfer
and its document's pointer is the claim (docs/ledger.md, "Exclusivity per document"); its outcome write
counts the attempt. A backfill's transfer (no `delivery`) claims its document with a `sending` write,
which fails while a live transfer of the document is pending.

Real attempts are counted in the ledger (`attempts`), not by the queue's receive count: after a
transient failure the transfer waits per RetrySchedule (10 s, 30 s, 2 min, 5 min, 15 min, …) and is
recorded as failed after `max_attempts`. A pause — our brake, or sevDesk's Retry-After — delays the
transfer by that long and is not an attempt: it never uses one up and never fails a transfer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.connection_reuse import ReusedConnections
from sevbridge.domain.connections import ConnectionService
from sevbridge.domain.errors import DocumentBusy, DomainError, TemporarilyUnavailable, TransferGone
from sevbridge.domain.events import Contact, Invoice, Project
from sevbridge.domain.intake_models import DocumentKey
from sevbridge.domain.ledger import TERMINAL, Transfer, TransferDocument, TransferKind, TransferStatus
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.ports import Clock, LedgerStore, TokenVault
from sevbridge.domain.push.outcome import PushOutcome
from sevbridge.domain.sevdesk_errors import SevdeskAuthError, SevdeskError, SevdeskOutOfTime

if TYPE_CHECKING:
    from sevbridge.domain.push.ports import MappingKind, MappingRow

# The longest a transfer is held back at once (below the transfer queue's 18-minute visibility timeout).
LONGEST_DELAY = 900.0
# A message sent this long after its transfer's last recorded state change was re-sent (intake's redelivery
# path, a DLQ redrive: a new message, receive count 1): an earlier message may have died mid-attempt.
RESENT_AFTER = timedelta(seconds=60)
# A backfill's transfer waits at most this long (since its last state change) for a pending live transfer of
# its document; then it is recorded failed instead of pushed (LIVE_PENDING below), and the backfill's
# `retry-failed` sends it once the live one settled. Well inside what BackfillQueue allows a chunk that looks
# again every 30 s (maxReceiveCount 100: ~50 minutes) before it goes to the BackfillDLQ.
LIVE_WAIT = timedelta(minutes=30)
LIVE_PENDING = (
    "not sent: a live transfer of this document ({live}) has been pending for over {minutes} minutes (it may be in "
    "the dead-letter queue); retry this transfer once that one has settled"
)
STANDS_BACK = (
    "stale: a newer version of this document was being transferred when its attempt was interrupted, and "
    "may already be in sevDesk; this older version is not applied over it"
)


class RetryLater(Exception):
    """Transient failure or pause: the queue should deliver this transfer again after `delay` seconds.
    `pause`: sevDesk or our brake asked the tenant to wait, not just this document."""

    def __init__(self, reason: str, *, delay: float, pause: bool = False) -> None:
        super().__init__(reason)
        self.delay = delay
        self.pause = pause


@dataclass(frozen=True)
class RetrySchedule:
    """How many real attempts a transfer gets, and how long it waits after each failed one (the last
    delay repeats). A little jitter keeps tenants that failed together from coming back together."""

    max_attempts: int = 8
    delays: Sequence[float] = (10.0, 30.0, 120.0, 300.0, 900.0)
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay_after(self, attempt: int) -> float:
        base = self.delays[min(max(attempt, 1), len(self.delays)) - 1] if self.delays else 0.0
        return min(LONGEST_DELAY, base * (1 + self.rng.uniform(-self.jitter, self.jitter)))


@dataclass(frozen=True)
class Delivery:
    """The transfer-queue delivery that runs a live transfer: its SQS record's message id,
    ApproximateReceiveCount and SentTimestamp."""

    message_id: str
    receives: int
    sent_at: datetime | None = None

    @property
    def mark(self) -> str:
        return f"{self.message_id}:{self.receives}"

    def may_follow_a_lost_attempt(self, transfer: Transfer) -> bool:
        """True when an earlier delivery may have died mid-attempt without recording its outcome. Every
        outcome (and pause) a live delivery writes records its `mark`: a message received again right
        after such a write (receive count n, record `<id>:n-1`) is certain — the common retry after a
        recorded failure — and so is a first receive of a message sent with the state it runs on, unless
        another delivery wrote that state. Any other receive (the rest of a failed lane, a stand-back, no
        time left, a worker that died; a re-sent or redriven message) is uncertain: it costs a reconcile
        look-up, never a duplicate."""
        if self.receives > 1:
            return transfer.delivery != f"{self.message_id}:{self.receives - 1}"
        return (
            transfer.delivery is not None or self.sent_at is None or self.sent_at > transfer.updated_at + RESENT_AFTER
        )


class PushServicePort(Protocol):
    def push_contact(self, contact: Contact, *, version: datetime, uncertain: bool) -> PushOutcome: ...
    def push_invoice(self, invoice: Invoice, *, version: datetime, uncertain: bool, manual: bool) -> PushOutcome: ...
    def push_project_draft(self, project: Project, *, version: datetime, uncertain: bool) -> PushOutcome: ...
    def know_own(self, kind: MappingKind, source_id: str, row: MappingRow | None) -> None:
        """The next pushed document's mapping row, as the ledger read it with the attempt's claim."""
        ...

    def held_mapping(self) -> MappingRow | None:
        """The pushed document's mapping row, not written yet: the outcome write carries it."""
        ...

    def forget_written(self) -> None:
        """Removes the mapping rows the push wrote itself (the tenant was offboarded meanwhile)."""
        ...


class PushServiceFactory(Protocol):
    def __call__(self, connection: Connection, token: str) -> PushServicePort: ...


@dataclass
class TransferRunner:
    ledger: LedgerStore
    connections: ConnectionService
    vault: TokenVault
    push_factory: PushServiceFactory
    clock: Clock
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    notifier: Notifier | None = None  # transfer.succeeded / transfer.failed, written with the ledger row
    # The connection as read for the batch this transfer is part of (connection_reuse.py); None: read it.
    reused: ReusedConnections | None = None

    def run(
        self,
        platform_id: str,
        tenant_id: str,
        transfer_id: str,
        *,
        document: DocumentKey | None = None,
        delivery: Delivery | None = None,
        carried: TransferDocument | None = None,
    ) -> Transfer | None:
        """`document`: what the transfer's queue message says it is about (one ledger read call less).
        `delivery`: the transfer queue's delivery (a live transfer: no `sending` write); None: a backfill's
        transfer, which claims its document. `carried`: the document the message carries (a live transfer
        on the happy path has no transfer item: docs/ledger.md)."""
        built: list[PushServicePort] = []
        try:
            return self._run(platform_id, tenant_id, transfer_id, document, delivery, carried, built)
        except TransferGone:
            # The tenant was offboarded while this transfer ran: nothing to record, and the mapping rows
            # its push wrote on the way (a customer's) must not bring its erased items back (C5).
            for service in built:
                service.forget_written()
            return None

    def keep(
        self,
        platform_id: str,
        tenant_id: str,
        transfer_id: str,
        *,
        document: DocumentKey | None,
        carried: TransferDocument,
    ) -> None:
        """Gives a transfer handed back without running (a redelivery that may end in the dead-letter
        queue) its item from the document its message carries, as `_run` does for a redelivery it runs;
        nothing for finished or parked work, or a transfer that has its item or was superseded."""
        transfer = self.ledger.get(
            platform_id, tenant_id, transfer_id, document=document, carried=carried, with_item=True
        )
        if transfer is None or transfer.status in TERMINAL or transfer.status is TransferStatus.WAITING_FOR_CREDENTIALS:
            return
        try:
            self.ledger.keep(transfer)
        except TransferGone:
            return  # offboarded meanwhile: nothing to keep

    def _run(
        self,
        platform_id: str,
        tenant_id: str,
        transfer_id: str,
        document: DocumentKey | None,
        delivery: Delivery | None,
        carried: TransferDocument | None,
        built: list[PushServicePort],
    ) -> Transfer | None:
        again = delivery is not None and delivery.receives > 1
        transfer = self.ledger.get(
            platform_id, tenant_id, transfer_id, document=document, carried=carried, with_item=again
        )
        # Taken at once, used only under a live claim-as-read (below): the same read is that claim.
        own_read, own_row = self.ledger.mapping_read(transfer) if transfer is not None else (False, None)
        if transfer is None or transfer.status in TERMINAL or transfer.status is TransferStatus.WAITING_FOR_CREDENTIALS:
            return transfer  # redelivery of finished or parked work: nothing to do
        if again:
            # A message that came back may go on coming back until the dead-letter queue: from now on the
            # transfer has an item, so the stranded-work tick (which reads items) can re-send it.
            transfer = self.ledger.keep(transfer)
        connection = (self.reused or self.connections.store).get(platform_id, tenant_id)
        now = self.clock.now()
        if connection is None:
            return self._save(
                transfer.moved_to(
                    TransferStatus.FAILED,
                    now,
                    "tenant has no connection",
                    last_error="tenant has no sevDesk connection",
                )
            )
        if not connection.settings.enabled:
            return self._save(
                transfer.moved_to(
                    TransferStatus.SKIPPED,
                    now,
                    "integration disabled",
                    reason="the integration is disabled for this tenant",
                )
            )
        if connection.status is ConnectionStatus.RECONNECT_REQUIRED:
            return self._park(transfer, "waiting for a new sevDesk token")

        # Still `sending` means the previous attempt ended without recording its outcome.
        uncertain = transfer.uncertain or transfer.status is TransferStatus.SENDING
        try:
            begun: Transfer | None = None
            if delivery is not None:
                # Live: the read above is the claim; nothing is written before sevDesk is called. The
                # attempt is counted by its outcome write, which also records this delivery.
                uncertain = uncertain or delivery.may_follow_a_lost_attempt(transfer)
                attempt = transfer.model_copy(
                    update={
                        "attempts": transfer.attempts + 1,
                        "uncertain": uncertain,
                        "live_attempt": True,
                        "delivery": delivery.mark,
                    }
                )
                begun = self.ledger.begin_attempt(attempt, now)
            if begun is not None:
                transfer = begun
            else:
                own_read = False  # claimed with a write: the push reads its mapping after that claim
                # A backfill's claim (or a live transfer's that no pending mark protects): only one transfer
                # of a document is `sending` at a time, and a backfill's not while a live transfer of it is
                # pending (the backfill runs from its own queue and containers).
                transfer = self._save(
                    transfer.moved_to(
                        TransferStatus.SENDING,
                        now,
                        f"attempt {transfer.attempts + 1}",
                        attempts=transfer.attempts + 1,
                        uncertain=uncertain,
                    )
                )
        except DocumentBusy as exc:
            if (
                exc.live_pending not in (None, transfer.transfer_id)
                and delivery is None
                and now - transfer.updated_at > LIVE_WAIT
            ):
                # Bounded: a live transfer stuck for good (dead-letter queue) must not hold a backfill forever.
                # Not when the pending live transfer is this one (re-sent by the tick or `…/retry`): its own
                # message settles it (the tick re-sends that if lost); failing it here would clear `live`
                # and leave that message a failed transfer to skip.
                reason = LIVE_PENDING.format(live=exc.live_pending, minutes=int(LIVE_WAIT.total_seconds() // 60))
                return self._fail(transfer, reason, uncertain=transfer.uncertain, retryable=True)
            # Nothing was written: not an attempt, not a failure; the transfer comes back later.
            raise RetryLater(exc.message, delay=max(1.0, exc.retry_after or 0.0)) from None
        # Another transfer of this document may have reached sevDesk unrecorded (it died `sending`, or
        # ended with an unknown outcome): the ledger says so by returning this one uncertain.
        uncertain = transfer.uncertain
        newer = transfer.unsettled_version
        if newer is not None and transfer.source_version.timestamp() < newer.timestamp():
            # That attempt was of a newer version: this older one must not overwrite what it may have
            # written. The newer transfer, redelivered, reconciles and records the document.
            return self._save(
                transfer.moved_to(
                    TransferStatus.SKIPPED, now, STANDS_BACK, reason=STANDS_BACK, last_error=None, uncertain=False
                )
            )
        # The document's mapping row as the push left it goes into the outcome write, whatever the outcome
        # (on a failure: what the push reached, so the retry goes on from there). Never written before it.
        service: PushServicePort | None = None
        try:
            token = self.vault.open(connection.token_ciphertext, platform_id=platform_id, tenant_id=tenant_id)
            service = self.push_factory(connection, token)
            built.append(service)
            if own_read and transfer.kind is not TransferKind.CONTACT:
                # Only its own transfers write an invoice's mapping, and they are serial (FIFO, lanes): the
                # claim's read is as fresh as a read now. A contact's is also written by other documents'
                # pushes (as their customer), under the per-contact lock: read there, as before.
                kind: MappingKind = "project" if transfer.kind is TransferKind.INVOICE_DRAFT else "invoice"
                service.know_own(kind, transfer.source_id, own_row)
            outcome = self._push(service, transfer, uncertain)
        except SevdeskAuthError as exc:
            self.connections.mark_reconnect_required(
                platform_id,
                tenant_id,
                f"sevDesk rejected the token: {exc.message}",
                token_version=connection.token_version,
            )
            if self.reused is not None:
                self.reused.forget(platform_id, tenant_id)  # the batch's next transfer reads the flag
            parked = self._park(
                transfer, "sevDesk rejected the token (401); waiting for a new token", mapping=_held(service)
            )
            # A new token may have been stored while this attempt ran: then go on at once.
            self.connections.resume_if_connected(platform_id, tenant_id)
            return parked
        except SevdeskError as exc:
            if not exc.retryable:
                # sevDesk refused the request itself: nothing was created, a person must fix the data.
                return self._fail(transfer, f"sevDesk refused: {exc}", uncertain=uncertain, mapping=_held(service))
            maybe_sent = uncertain or exc.outcome_unknown
            pause = exc.pause_seconds
            if pause is not None:
                return self._pause(transfer, str(exc), pause, maybe_sent, mapping=_held(service))
            # Out of time: the invocation ends; come back at once (still an attempt, so it is bounded).
            delay = 0.0 if isinstance(exc, SevdeskOutOfTime) else None
            return self._retry_later(transfer, str(exc), maybe_sent, delay=delay, mapping=_held(service))
        except TemporarilyUnavailable as exc:
            return self._retry_later(transfer, exc.message, uncertain, mapping=_held(service))
        except DomainError as exc:
            return self._fail(transfer, exc.message, uncertain=uncertain, mapping=_held(service))
        except Exception as exc:
            # A bug or an unexpected outage, possibly after sevDesk answered: never left `sending`;
            # retried like a transient failure (uncertain, so it reconciles) and failed in the end.
            # Only the type is recorded: exception text can carry data.
            try:
                return self._retry_later(transfer, f"unexpected {type(exc).__name__}", True, mapping=_held(service))
            except RetryLater as retry:
                raise retry from exc

        status = TransferStatus.SKIPPED if outcome.action == "skipped" else TransferStatus.TRANSFERRED
        return self._save(
            transfer.moved_to(
                status,
                self.clock.now(),
                outcome.message,
                reason=outcome.message,
                sevdesk_id=outcome.sevdesk_id or transfer.sevdesk_id,
                sevdesk_number=outcome.sevdesk_number,
                last_error=None,
                uncertain=False,
            ),
            mapping=_held(service),
        )

    def _retry_later(
        self,
        transfer: Transfer,
        error: str,
        maybe_sent: bool,
        *,
        delay: float | None = None,
        mapping: MappingRow | None = None,
    ) -> Transfer:
        if transfer.attempts >= self.schedule.max_attempts:
            return self._fail(
                transfer,
                f"gave up after {transfer.attempts} attempts: {error}",
                uncertain=maybe_sent,
                retryable=True,
                mapping=mapping,
            )
        wait = self.schedule.delay_after(transfer.attempts) if delay is None else delay
        self._save(
            transfer.moved_to(
                TransferStatus.QUEUED,
                self.clock.now(),
                f"will retry in {wait:.0f}s: {error}",
                last_error=error,
                uncertain=maybe_sent,
            ),
            mapping=mapping,
        )
        raise RetryLater(error, delay=wait)

    def _pause(
        self, transfer: Transfer, error: str, pause: float, maybe_sent: bool, *, mapping: MappingRow | None = None
    ) -> Transfer:
        """sevDesk or our brake asked to wait: the transfer waits that long; this was no attempt."""
        wait = min(LONGEST_DELAY, max(0.0, pause))
        self._save(
            transfer.moved_to(
                TransferStatus.QUEUED,
                self.clock.now(),
                f"paused for {wait:.0f}s: {error}",
                attempts=transfer.attempts - 1,
                last_error=error,
                uncertain=maybe_sent,
            ),
            mapping=mapping,
        )
        raise RetryLater(error, delay=wait, pause=True)

    def _push(self, service: PushServicePort, transfer: Transfer, uncertain: bool) -> PushOutcome:
        version = transfer.source_version
        if transfer.kind is TransferKind.CONTACT:
            return service.push_contact(Contact.model_validate(transfer.payload), version=version, uncertain=uncertain)
        if transfer.kind is TransferKind.INVOICE:
            return service.push_invoice(
                Invoice.model_validate(transfer.payload),
                version=version,
                uncertain=uncertain,
                manual=transfer.manual,
            )
        return service.push_project_draft(
            Project.model_validate(transfer.payload), version=version, uncertain=uncertain
        )

    def _park(self, transfer: Transfer, note: str, *, mapping: MappingRow | None = None) -> Transfer:
        return self._save(
            transfer.moved_to(TransferStatus.WAITING_FOR_CREDENTIALS, self.clock.now(), note, reason=note),
            mapping=mapping,
        )

    def _fail(
        self,
        transfer: Transfer,
        message: str,
        *,
        uncertain: bool,
        retryable: bool = False,
        mapping: MappingRow | None = None,
    ) -> Transfer:
        return self._save(
            transfer.moved_to(
                TransferStatus.FAILED,
                self.clock.now(),
                message,
                last_error=message,
                reason=message,
                uncertain=uncertain,
            ),
            retryable=retryable,
            mapping=mapping,
        )

    def _save(self, transfer: Transfer, *, retryable: bool = False, mapping: MappingRow | None = None) -> Transfer:
        # A terminal state and the webhook about it commit together; the dispatcher is woken afterwards
        # (if that wake-up is lost, the schedule tick sends the webhook). `mapping`: the document's
        # mapping row, written by the same write as this state (docs/ledger.md).
        notices = self.notifier.for_transfer(transfer, retryable=retryable) if self.notifier else None
        if self.notifier and notices:
            stored = self.ledger.save(transfer, notices, mapping=mapping)
            self.notifier.dispatch_soon(notices)
            return stored
        return self.ledger.save(transfer, mapping=mapping)


def _held(service: PushServicePort | None) -> MappingRow | None:
    return service.held_mapping() if service is not None else None
