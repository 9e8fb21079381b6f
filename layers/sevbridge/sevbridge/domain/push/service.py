"""PushService: makes one platform contact / invoice / project draft appear correctly in one tenant's
sevDesk account, exactly once (P1-P3, I1-I5, I7, I8).

Writes whose outcome is unknown are looked up and adopted or redone inside the call (settling.py);
sevDesk errors that remain propagate (the transfer runner decides about retries, pauses and parking);
PushRefused means a person has to act. One instance serves one transfer: reference data is memoised
for its lifetime (the port may add a short-lived per-tenant cache across transfers, see ports.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sevbridge.domain.events import Contact, Invoice, Project
from sevbridge.domain.push.contacts import ContactSync
from sevbridge.domain.push.invoices import DocumentSync
from sevbridge.domain.push.locks import ContactLocks, NoLocks, TenantLocks
from sevbridge.domain.push.outcome import PushOutcome, PushRefused
from sevbridge.domain.push.ports import MappingKind, MappingRow, MappingStore, SevdeskPort
from sevbridge.domain.push.reference import Reference
from sevbridge.domain.push.rows import TenantRows
from sevbridge.domain.push.settling import Patience, SettlingSevdesk
from sevbridge.domain.settings import TenantSettings

__all__ = ["Patience", "PushOutcome", "PushRefused", "PushService"]


class PushService:
    def __init__(
        self,
        sevdesk: SevdeskPort,
        mappings: MappingStore,
        *,
        platform_id: str,
        tenant_id: str,
        settings: TenantSettings,
        today: date,
        patience: Patience | None = None,
        locks: ContactLocks | None = None,
        defer_own_mapping: bool = False,
    ) -> None:
        """`defer_own_mapping` (the transfer worker): the pushed document's own mapping row is not
        written but held (`held_mapping()`) for the ledger's outcome write (rows.py)."""
        # Every write whose outcome is unknown is settled in place (settling.py), not left to a retry.
        sevdesk = SettlingSevdesk(sevdesk, patience if patience is not None else Patience())
        rows = self._rows = TenantRows(mappings, platform_id, tenant_id, defer_own=defer_own_mapping)
        ref = Reference(sevdesk, settings)
        # `locks`: shared by the push services of transfers that run side by side (domain/push/locks.py).
        tenant_locks = TenantLocks(locks if locks is not None else NoLocks(), platform_id, tenant_id)
        self._contacts = ContactSync(sevdesk, rows, ref, platform_id=platform_id, settings=settings, locks=tenant_locks)
        self._documents = DocumentSync(
            sevdesk,
            rows,
            ref,
            self._contacts,
            platform_id=platform_id,
            tenant_id=tenant_id,
            settings=settings,
            today=today,
        )

    def push_contact(self, contact: Contact, *, version: datetime, uncertain: bool) -> PushOutcome:
        """P1/P2. `contact` may be a ContactWithInvoices; its invoices are the caller's business (P3)."""
        self._rows.own("contact", contact.source_id)
        return self._contacts.push(contact, version=version, uncertain=uncertain)

    def push_invoice(self, invoice: Invoice, *, version: datetime, uncertain: bool, manual: bool) -> PushOutcome:
        self._rows.own("invoice", invoice.source_id)
        return self._documents.push_invoice(invoice, version=version, uncertain=uncertain, manual=manual)

    def push_project_draft(self, project: Project, *, version: datetime, uncertain: bool) -> PushOutcome:
        self._rows.own("project", project.source_id)
        return self._documents.push_project(project, version=version, uncertain=uncertain)

    def know_own(self, kind: MappingKind, source_id: str, row: MappingRow | None) -> None:
        """The mapping row of the document the next push is about, as the caller read it (rows.py)."""
        self._rows.know_own(kind, source_id, row)

    def held_mapping(self) -> MappingRow | None:
        """The pushed document's mapping row as the last push left it (also when it raised), for the
        ledger to write with the outcome; None when it is unchanged or not held (rows.py)."""
        return self._rows.held()

    def forget_written(self) -> None:
        """The tenant was offboarded while the push ran: the rows it wrote must not outlive the erase."""
        self._rows.forget_written()
