"""Runs one transfer: the ledger state machine around a push to sevDesk (I6, I8, C3).

Outcomes: transferred / skipped (done), failed (needs a person: sevDesk's or our reason is kept),
waiting_for_credentials (token rejected: parked until a new token is stored), or RetryLater (a
transient sevDesk problem: the message is redelivered, the ledger remembers whether the attempt may
have reached sevDesk so the next one reconciles instead of creating a duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sevbridge.domain.connection import Connection, ConnectionStatus
from sevbridge.domain.connections import ConnectionService
from sevbridge.domain.errors import DomainError, TemporarilyUnavailable, TransferGone
from sevbridge.domain.events import Contact, Invoice, Project
from sevbridge.domain.ledger import TERMINAL, Transfer, TransferKind, TransferStatus
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.ports import Clock, LedgerStore, TokenVault
from sevbridge.domain.push.service import PushOutcome
from sevbridge.domain.sevdesk_errors import SevdeskAuthError, SevdeskError


class RetryLater(Exception):
    """Transient failure: the queue should deliver this transfer again later."""


class PushServicePort(Protocol):
    def push_contact(self, contact: Contact, *, version: datetime, uncertain: bool) -> PushOutcome: ...
    def push_invoice(self, invoice: Invoice, *, version: datetime, uncertain: bool, manual: bool) -> PushOutcome: ...
    def push_project_draft(self, project: Project, *, version: datetime, uncertain: bool) -> PushOutcome: ...


class PushServiceFactory(Protocol):
    def __call__(self, connection: Connection, token: str) -> PushServicePort: ...


@dataclass
class TransferRunner:
    ledger: LedgerStore
    connections: ConnectionService
    vault: TokenVault
    push_factory: PushServiceFactory
    clock: Clock
    max_receives: int = 5
    notifier: Notifier | None = None  # transfer.succeeded / transfer.failed, written with the ledger row

    def run(self, platform_id: str, tenant_id: str, transfer_id: str, *, receive_count: int = 1) -> Transfer | None:
        try:
            return self._run(platform_id, tenant_id, transfer_id, receive_count)
        except TransferGone:
            return None  # the tenant was offboarded while this transfer ran: nothing to record

    def _run(self, platform_id: str, tenant_id: str, transfer_id: str, receive_count: int) -> Transfer | None:
        transfer = self.ledger.get(platform_id, tenant_id, transfer_id)
        if transfer is None or transfer.status in TERMINAL or transfer.status is TransferStatus.WAITING_FOR_CREDENTIALS:
            return transfer  # redelivery of finished or parked work: nothing to do
        connection = self.connections.store.get(platform_id, tenant_id)
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
        transfer = self._save(
            transfer.moved_to(
                TransferStatus.SENDING,
                now,
                f"attempt {transfer.attempts + 1}",
                attempts=transfer.attempts + 1,
                uncertain=uncertain,
            )
        )
        try:
            token = self.vault.open(connection.token_ciphertext, platform_id=platform_id, tenant_id=tenant_id)
            outcome = self._push(self.push_factory(connection, token), transfer, uncertain)
        except SevdeskAuthError as exc:
            self.connections.mark_reconnect_required(
                platform_id,
                tenant_id,
                f"sevDesk rejected the token: {exc.message}",
                token_version=connection.token_version,
            )
            parked = self._park(transfer, "sevDesk rejected the token (401); waiting for a new token")
            # A new token may have been stored while this attempt ran: then go on at once.
            self.connections.resume_if_connected(platform_id, tenant_id)
            return parked
        except SevdeskError as exc:
            if not exc.retryable:
                # sevDesk refused the request itself: nothing was created, a person must fix the data.
                return self._fail(transfer, f"sevDesk refused: {exc}", uncertain=uncertain)
            maybe_sent = uncertain or bool(getattr(exc, "outcome_unknown", False))
            return self._retry_later(transfer, str(exc), maybe_sent, receive_count)
        except TemporarilyUnavailable as exc:
            return self._retry_later(transfer, exc.message, uncertain, receive_count)
        except DomainError as exc:
            return self._fail(transfer, exc.message, uncertain=uncertain)
        except Exception as exc:
            # A bug or an unexpected outage, possibly after sevDesk answered: the row stays `sending`
            # (so the redelivery reconciles) until the last delivery, which records it as failed.
            if receive_count >= self.max_receives:
                return self._fail(
                    transfer,
                    f"gave up after {transfer.attempts} attempts: unexpected {type(exc).__name__}",
                    uncertain=True,
                    retryable=True,
                )
            raise

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
            )
        )

    def _retry_later(self, transfer: Transfer, error: str, maybe_sent: bool, receive_count: int) -> Transfer:
        if receive_count >= self.max_receives:
            return self._fail(
                transfer, f"gave up after {transfer.attempts} attempts: {error}", uncertain=maybe_sent, retryable=True
            )
        self._save(
            transfer.moved_to(
                TransferStatus.QUEUED,
                self.clock.now(),
                f"will retry: {error}",
                last_error=error,
                uncertain=maybe_sent,
            )
        )
        raise RetryLater(error)

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

    def _park(self, transfer: Transfer, note: str) -> Transfer:
        return self._save(
            transfer.moved_to(TransferStatus.WAITING_FOR_CREDENTIALS, self.clock.now(), note, reason=note)
        )

    def _fail(self, transfer: Transfer, message: str, *, uncertain: bool, retryable: bool = False) -> Transfer:
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
        )

    def _save(self, transfer: Transfer, *, retryable: bool = False) -> Transfer:
        # A terminal state and the webhook about it commit together; the dispatcher is woken afterwards
        # (if that wake-up is lost, the schedule tick sends the webhook).
        notices = self.notifier.for_transfer(transfer, retryable=retryable) if self.notifier else None
        if self.notifier and notices:
            self.ledger.save(transfer, notices)
            self.notifier.dispatch_soon(notices)
        else:
            self.ledger.save(transfer)
        return transfer
