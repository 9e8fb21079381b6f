"""Invoices in sevDesk (I1-I5, I7, I8): create once, then follow the platform's status and content.

The mapping row is written once per push, at its end (or, when a step fails, with what the push reached
so far, so a retry continues from there): no row before a create. In the transfer worker that write is
the ledger's outcome write itself (rows.py: the row is held for it). The window in which a create may have
landed unrecorded is covered by the runner instead — a redelivery that may follow a lost attempt runs
`uncertain`, and so does a transfer that finds its document's last attempt unsettled (dynamo_ledger.py). When an earlier
attempt may have created the document (the runner says `uncertain`, or a row written by an older
version shows a create in flight), our marker (customerInternalNote) is looked up before a create:
such a document is adopted, never made twice. Otherwise nothing of ours
can be in sevDesk yet, and the one look-up left is `GET /Invoice?invoiceNumber=`: it says whether the
number is taken and, by our marker on a hit, whether the document is ours after all (a lost mapping
row). Writes answer with the new state (saveInvoice, sendBy, bookAmount's log entry): no read-backs
unless uncertain. Nothing is created before the units, country, user and (for paid) check account are
known. docs/requests.md lists every request per scenario and why it is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sevbridge.domain.events import Invoice, InvoiceStatus, Project
from sevbridge.domain.push.contacts import ContactSync
from sevbridge.domain.push.documents import (
    TARGET_STATUS,
    DocumentSpec,
    address_hash,
    invoice_content_hash,
    invoice_document,
)
from sevbridge.domain.push.invoice_state import (
    MarkerHits,
    cancelled_message,
    is_cancellation,
    marker_hits,
    may_be_cancelled,
    split_hits,
    status_word,
)
from sevbridge.domain.push.markers import document_marker
from sevbridge.domain.push.outcome import Action, PushOutcome, PushRefused
from sevbridge.domain.push.payloads import cents, invoice_body
from sevbridge.domain.push.ports import (
    DRAFT,
    OPEN,
    PAID,
    PARTIALLY_PAID,
    MappingKind,
    MappingRow,
    SdInvoice,
    SevdeskPort,
)
from sevbridge.domain.push.projects import NO_DONE_APPOINTMENT, project_content_hash, project_document
from sevbridge.domain.push.reference import Reference
from sevbridge.domain.push.rows import TenantRows
from sevbridge.domain.push.versions import aware, is_stale, newest, newest_seen, stale_message
from sevbridge.domain.settings import TenantSettings
from sevbridge.domain.sevdesk_errors import SevdeskNotFound, SevdeskValidationError

SKIP_DRAFT = "draft: transferred when it leaves draft, or on manual request"
SKIP_AUTO_OFF = "automatic transfer is off"


@dataclass(frozen=True)
class Job:
    """One document to bring into line, whatever it came from."""

    kind: MappingKind
    source_id: str
    noun: str  # "invoice" / "invoice draft for project 'Umbau'"
    spec: DocumentSpec
    marker: str
    content_hash: str
    address_hash: str
    target: int  # sevDesk status wanted: 100, 200 or 1000
    may_reset: bool  # whether an open invoice goes back to draft when the platform's did
    paid_amount: Decimal | None = None
    paid_at: date | None = None


@dataclass(frozen=True)
class _Prepared:
    unit_ids: Mapping[str, str]
    country_id: str
    contact_person_id: str


class DocumentSync:
    def __init__(
        self,
        port: SevdeskPort,
        rows: TenantRows,
        ref: Reference,
        contacts: ContactSync,
        *,
        platform_id: str,
        tenant_id: str,
        settings: TenantSettings,
        today: date,
    ) -> None:
        self._port = port
        self._rows = rows
        self._ref = ref
        self._contacts = contacts
        self._platform_id = platform_id
        self._tenant_id = tenant_id
        self._settings = settings
        self._today = today
        self._hits: MarkerHits | None = None  # the marker look-up of the current push, once made
        # The invoices carrying the job's number exactly, once looked up in the current push.
        self._numbered: list[SdInvoice] | None = None
        self._uncertain = False  # an earlier attempt of the current push may have written
        # The mapping row as the current push has brought it so far: written once at the end, or with
        # what was reached when a step fails (sevDesk's state is only ever ahead of it, never behind).
        self._latest: MappingRow | None = None

    # -- entry points --------------------------------------------------------------------------

    def push_invoice(self, invoice: Invoice, *, version: datetime, uncertain: bool, manual: bool) -> PushOutcome:
        job = Job(
            kind="invoice",
            source_id=invoice.source_id,
            noun="invoice",
            spec=invoice_document(invoice),
            marker=document_marker(self._platform_id, self._tenant_id, "invoice", invoice.source_id),
            content_hash=invoice_content_hash(invoice),
            address_hash=address_hash(invoice.customer),
            target=TARGET_STATUS[invoice.status],
            may_reset=True,
            paid_amount=invoice.paid_amount,
            paid_at=invoice.paid_at,
        )

        def skip_reason() -> str | None:
            if manual:
                return None  # I1: any invoice, any status, on request
            if invoice.status is InvoiceStatus.DRAFT:
                return SKIP_DRAFT
            return None if self._settings.auto_transfer else SKIP_AUTO_OFF

        return self._push(job, version=version, uncertain=uncertain, skip_reason=skip_reason, manual=manual)

    def push_project(self, project: Project, *, version: datetime, uncertain: bool) -> PushOutcome:
        if not project.done_appointments:
            raise PushRefused(NO_DONE_APPOINTMENT.format(title=project.title))
        job = Job(
            kind="project",
            source_id=project.source_id,
            noun=f"invoice draft for project '{project.title}'",
            spec=project_document(project, self._today),
            marker=document_marker(self._platform_id, self._tenant_id, "project", project.source_id),
            content_hash=project_content_hash(project),
            address_hash=address_hash(project.customer),
            target=DRAFT,
            may_reset=False,  # a draft someone finalised in sevDesk stays final
        )
        return self._push(job, version=version, uncertain=uncertain, skip_reason=lambda: None, manual=False)

    # -- flow ----------------------------------------------------------------------------------

    def _push(
        self,
        job: Job,
        *,
        version: datetime,
        uncertain: bool,
        skip_reason: Callable[[], str | None],
        manual: bool,
    ) -> PushOutcome:
        self._hits, self._numbered, self._uncertain, self._latest = None, None, uncertain, None
        row = self._rows.get(job.kind, job.source_id)
        try:
            outcome = self._push_steps(
                job, row, version=version, uncertain=uncertain, skip_reason=skip_reason, manual=manual
            )
        except Exception:
            self._record(row)  # what this attempt reached: the retry goes on from there
            raise
        self._record(row)
        return outcome

    def _record(self, row: MappingRow | None) -> None:
        """The one mapping-row write of a push (none when nothing changed)."""
        if self._latest is not None and self._latest != row:
            self._rows.put(self._latest)
        self._latest = None

    def _reached(self, state: MappingRow) -> MappingRow:
        self._latest = state
        return state

    def _push_steps(
        self,
        job: Job,
        row: MappingRow | None,
        *,
        version: datetime,
        uncertain: bool,
        skip_reason: Callable[[], str | None],
        manual: bool,
    ) -> PushOutcome:
        # A newer version skipped earlier makes an automatic event stale too (a late "sent" must not
        # create what the platform has turned back into a draft); a manual request is explicit and is
        # only stopped by a newer version already applied in sevDesk.
        count_seen = not manual
        if row is not None and is_stale(row, version, count_seen=count_seen):
            message = stale_message(row, count_seen=count_seen)
            return PushOutcome(row.sevdesk_id, "skipped", message, row.number, row.contact_sevdesk_id)
        reason = skip_reason()
        if reason is not None and (row is None or row.seen_only) and not uncertain:
            # Never sent and no attempt in flight: nothing to look up in sevDesk (drafts are frequent).
            return self._skipped(job, row, version, reason)
        found, adopted = self._find_ours(job, row)
        cancellation = self._cancellation_of(job, found)
        if cancellation is not None:
            return self._cancelled(job, found, row, cancellation, version)
        if found is not None:
            return self._follow(job, found, row, version=version, uncertain=uncertain, adopted=adopted)
        if reason is not None:
            return self._skipped(job, row, version, reason)
        return self._create(job, row, version=version, uncertain=uncertain)

    def _skipped(self, job: Job, row: MappingRow | None, version: datetime, reason: str) -> PushOutcome:
        """Nothing in sevDesk to follow and nothing to create now: remember that this version was seen,
        so an older automatic event delivered later is recognised as stale."""
        seen = newest_seen(row, version)
        if row is None:
            self._rows.put(MappingRow(job.kind, job.source_id, seen_version=seen, seen_only=True))
        elif row.seen_version is None or aware(row.seen_version) < seen:
            # An attempt in flight keeps its row as it is (sevdesk_id None = look for the marker).
            self._rows.put(replace(row, seen_version=seen))
        return PushOutcome(None, "skipped", reason)

    def _find_ours(self, job: Job, row: MappingRow | None) -> tuple[SdInvoice | None, bool]:
        """(invoice, adopted): by our mapping, else by our marker in sevDesk (I8). A cancellation
        document carries our marker too, but is never ours.

        The marker search runs only where an earlier write may have landed unseen: the runner's
        `uncertain` (the ledger's: any attempt of this document that may have written unrecorded), a
        create in flight (rows written by older versions), or a mapped invoice that is gone. Otherwise
        no attempt of this document reached sevDesk unrecorded, and the number look-up, needed anyway,
        is what finds ours should the row have been lost."""
        reconcile = self._uncertain or (row is not None and row.create_in_flight)
        if row is not None and row.sevdesk_id:
            found = self._port.get_invoice(row.sevdesk_id)
            if found is not None and not is_cancellation(found):
                return found, False
            reconcile = True
        if not reconcile:
            if not job.spec.number:
                return None, False
            # Not a full marker search (a cancellation has its own number): self._hits stays unset.
            found = split_hits(i for i in self._with_number(job.spec.number) if i.marker == job.marker).document
            return (found, True) if found is not None else (None, False)
        self._hits = marker_hits(self._port, job.marker)
        found = self._hits.document
        return (found, True) if found is not None else (None, False)

    def _with_number(self, number: str) -> list[SdInvoice]:
        """The invoices whose number is exactly `number` (the filter may be loose), read once per push."""
        if self._numbered is None:
            self._numbered = [i for i in self._port.find_invoices_by_number(number) if i.number == number]
        return self._numbered

    def _cancellation_of(self, job: Job, found: SdInvoice | None) -> SdInvoice | None:
        """The cancellation document (SR) of our document, if it was cancelled in sevDesk. Looked up by
        marker only when the marker search has not run yet and the status allows a cancellation."""
        if found is None:
            # Only a cancellation carries our marker (its original is not readable): ours, cancelled.
            return self._hits.cancellations[0] if self._hits is not None and self._hits.cancellations else None
        if self._hits is None:
            if not may_be_cancelled(found):
                return None
            self._hits = marker_hits(self._port, job.marker)
        return self._hits.cancellation_of(found.id)

    def _cancelled(
        self, job: Job, found: SdInvoice | None, row: MappingRow | None, cancellation: SdInvoice, version: datetime
    ) -> PushOutcome:
        """Ours, and cancelled in sevDesk: nothing is written or booked; the transfer says so."""
        if found is None:
            return PushOutcome(None, "skipped", cancelled_message(job.spec.label, None, cancellation))
        state = self._state_for(job, found, row, version)
        message = cancelled_message(self._label(job, found), found, cancellation)
        return PushOutcome(found.id, "skipped", message, found.number, state.contact_sevdesk_id)

    def _check_number_free(self, job: Job, *, ours: SdInvoice | None = None) -> None:
        number = job.spec.number
        if not number or (ours is not None and ours.number == number):
            return
        taken = [i for i in self._with_number(number) if ours is None or i.id != ours.id]
        if taken:
            other = taken[0]
            raise PushRefused(
                f"invoice number {number} already exists in sevDesk (invoice id {other.id}) for a different "
                "document; nothing was transferred. Give this invoice another number, or check that "
                "sevDesk invoice.",
                details=[{"invoice_number": number, "sevdesk_id": other.id, "problem": "number taken"}],
            )

    def _create(self, job: Job, row: MappingRow | None, *, version: datetime, uncertain: bool) -> PushOutcome:
        self._check_number_free(job)
        if job.target == PAID:
            self._ref.check_account()  # refuse before creating anything if payment can't be booked
        parts = self._prepare(job)  # units etc. first (I4): a refusal leaves nothing behind
        contact_id = self._contacts.resolve(job.spec.customer, version=version, uncertain=uncertain)
        # No row before the create: should the worker die after saveInvoice, its message comes back
        # without a recorded outcome and the next attempt (of it or of any transfer of this document) is
        # uncertain and finds the invoice by its marker. A step that fails records the saved invoice (_push).
        saved, contact_id = self._save(job, parts, contact_id, version=version, uncertain=uncertain)
        state = self._reached(
            MappingRow(
                job.kind,
                job.source_id,
                sevdesk_id=saved.id,
                version=newest(row, version),
                number=saved.number,
                status=saved.status,
                content_hash=job.content_hash,
                address_hash=job.address_hash,
                contact_sevdesk_id=contact_id,
                seen_version=row.seen_version if row else None,
            )
        )
        invoice, state, steps = self._advance(job, saved, state)
        message = _sentence([f"{job.noun} created in sevDesk as draft", *steps]) + _number(invoice)
        return PushOutcome(invoice.id, "created", message, invoice.number, contact_id)

    def _follow(
        self,
        job: Job,
        invoice: SdInvoice,
        row: MappingRow | None,
        *,
        version: datetime,
        uncertain: bool,
        adopted: bool,
    ) -> PushOutcome:
        state = self._state_for(job, invoice, row, version)
        steps: list[str] = []
        notes: list[str] = []
        if job.may_reset and job.target == DRAFT and invoice.status != DRAFT:
            if invoice.status != OPEN:
                raise PushRefused(
                    f"{self._label(job, invoice)} is already {status_word(invoice)} in sevDesk; it can't be "
                    "reset to draft there. Cancel it in sevDesk (Stornieren) and send a new invoice."
                )
            self._port.reset_to_draft(invoice.id)
            invoice = self._reread(invoice)
            state = self._reached(replace(state, status=invoice.status))
            steps.append("reset to draft")

        known = state.content_hash is not None
        content_changed = not known or state.content_hash != job.content_hash
        if invoice.status == DRAFT and (content_changed or state.address_hash != job.address_hash):
            invoice, state = self._rewrite(job, invoice, state, version=version, uncertain=uncertain)
            steps.append("content updated")
        elif invoice.status != DRAFT and known and content_changed:
            raise PushRefused(self._locked(job, invoice))
        elif invoice.status != DRAFT and state.address_hash not in (None, job.address_hash):
            notes.append("the customer's new name/address is not applied to a document that is no longer a draft")

        invoice, state, more = self._advance(job, invoice, state)
        steps += more
        if job.target == OPEN and invoice.status in (PARTIALLY_PAID, PAID):
            notes.append(f"already {status_word(invoice)} in sevDesk")
        return self._followed(job, invoice, state, steps, notes, adopted=adopted)

    def _followed(
        self,
        job: Job,
        invoice: SdInvoice,
        state: MappingRow,
        steps: list[str],
        notes: list[str],
        *,
        adopted: bool,
    ) -> PushOutcome:
        label = self._label(job, invoice)
        action: Action
        if adopted:
            action = "adopted"
            message = f"{label} found in sevDesk ({invoice.id}) after an interrupted attempt and adopted"
            if steps:
                message += "; then " + _sentence(steps)
        elif steps:
            action, message = "updated", f"{label} updated in sevDesk: {_sentence(steps)}"
        else:
            action, message = "unchanged", f"{label} unchanged in sevDesk ({status_word(invoice)})"
        if notes:
            message += " (" + "; ".join(notes) + ")"
        return PushOutcome(invoice.id, action, message, invoice.number, state.contact_sevdesk_id or invoice.contact_id)

    # -- steps ---------------------------------------------------------------------------------

    def _prepare(self, job: Job) -> _Prepared:
        billing = job.spec.customer.billing_address
        return _Prepared(
            unit_ids=self._ref.resolve_units(job.spec.lines),
            country_id=self._ref.country(billing.country if billing else "DE"),
            contact_person_id=self._ref.contact_person(),
        )

    def _body(
        self, job: Job, parts: _Prepared, contact_id: str, existing: SdInvoice | None = None
    ) -> dict[str, object]:
        return invoice_body(
            job.spec,
            marker=job.marker,
            contact_id=contact_id,
            contact_person_id=parts.contact_person_id,
            country_id=parts.country_id,
            unit_ids=parts.unit_ids,
            existing_id=existing.id if existing else None,
            # Read right before the save: a retry after a partial rewrite sees the current positions.
            delete_position_ids=self._port.list_invoice_position_ids(existing.id) if existing else (),
        )

    def _rewrite(
        self, job: Job, invoice: SdInvoice, state: MappingRow, *, version: datetime, uncertain: bool
    ) -> tuple[SdInvoice, MappingRow]:
        """Rewrites a sevDesk draft: header fields and a fresh set of positions."""
        self._check_number_free(job, ours=invoice)
        parts = self._prepare(job)
        contact_id = self._contacts.resolve(job.spec.customer, version=version, uncertain=uncertain)
        saved, contact_id = self._save(job, parts, contact_id, version=version, uncertain=uncertain, existing=invoice)
        state = self._reached(
            replace(
                state,
                status=saved.status,
                number=saved.number,
                content_hash=job.content_hash,
                address_hash=job.address_hash,
                contact_sevdesk_id=contact_id,
            )
        )
        return saved, state

    def _save(
        self,
        job: Job,
        parts: _Prepared,
        contact_id: str,
        *,
        version: datetime,
        uncertain: bool,
        existing: SdInvoice | None = None,
    ) -> tuple[SdInvoice, str]:
        """saveInvoice; (saved invoice, its contact id). A known customer is not read before the save
        (contacts.py): when sevDesk rejects the save and that contact turns out to be gone (deleted in
        sevDesk), the customer is resolved again (matched or created) and the save repeated once."""
        try:
            return self._port.save_invoice(self._body(job, parts, contact_id, existing)), contact_id
        except (SevdeskValidationError, SevdeskNotFound):
            if not self._contacts.unverified(contact_id) or self._port.get_contact(contact_id) is not None:
                raise
        contact_id = self._contacts.resolve(job.spec.customer, version=version, uncertain=uncertain, gone=contact_id)
        return self._port.save_invoice(self._body(job, parts, contact_id, existing)), contact_id

    def _advance(self, job: Job, invoice: SdInvoice, state: MappingRow) -> tuple[SdInvoice, MappingRow, list[str]]:
        """Moves the sevDesk status forward to the target (I5): sendBy, then book the payment. Each step's
        result is noted (`_reached`); the row is written once by `_push`."""
        steps: list[str] = []
        if job.target >= OPEN and invoice.status == DRAFT:
            sent = self._port.send_invoice(invoice.id)
            # sevDesk's answer is the sent invoice; read it back only if the answer does not show that.
            invoice = (
                sent if sent is not None and sent.id == invoice.id and sent.status > DRAFT else self._reread(invoice)
            )
            state = self._reached(replace(state, status=invoice.status, number=invoice.number or state.number))
            steps.append("sent")
        if job.target == PAID and invoice.status in (OPEN, PARTIALLY_PAID):
            account = self._ref.check_account()
            if self._uncertain:
                # An earlier attempt may have booked already: read right before booking, so that
                # bookAmount never runs twice. Otherwise the invoice was read or written in this
                # attempt (and a payment whose outcome was unknown was settled in place).
                invoice = self._reread(invoice)
            if invoice.status < PAID:
                already = invoice.paid_amount
                amount = cents((job.paid_amount if job.paid_amount is not None else invoice.sum_gross) - already)
                if amount > 0:
                    day = job.paid_at or self._today
                    after = self._port.book_payment(invoice.id, amount=amount, day=day, check_account_id=account)
                    steps.append("payment booked")
                    # bookAmount answers with the status it moved the invoice to (its log entry).
                    invoice = (
                        replace(invoice, status=after, paid_amount=already + amount)
                        if after is not None
                        else self._reread(invoice)
                    )
            state = self._reached(replace(state, status=invoice.status))
        return invoice, state, steps

    # -- helpers -------------------------------------------------------------------------------

    def _state_for(self, job: Job, invoice: SdInvoice, row: MappingRow | None, version: datetime) -> MappingRow:
        """The mapping row for a found invoice; hashes kept only if they describe this invoice."""
        ours = row is not None and row.sevdesk_id in (None, invoice.id)
        state = MappingRow(
            job.kind,
            job.source_id,
            sevdesk_id=invoice.id,
            version=newest(row, version),
            number=invoice.number,
            status=invoice.status,
            content_hash=row.content_hash if ours and row else None,
            address_hash=row.address_hash if ours and row else None,
            contact_sevdesk_id=(row.contact_sevdesk_id if ours and row else None) or invoice.contact_id,
            seen_version=row.seen_version if row else None,
        )
        return self._reached(state)

    def _reread(self, invoice: SdInvoice) -> SdInvoice:
        fresh = self._port.get_invoice(invoice.id)
        if fresh is None:
            raise PushRefused(f"sevDesk invoice {invoice.id} disappeared while it was being transferred")
        return fresh

    def _label(self, job: Job, invoice: SdInvoice) -> str:
        if job.kind == "invoice":
            return f"invoice {invoice.number or job.spec.number or repr(job.source_id)}"
        return job.noun + (f" ({invoice.number})" if invoice.number else "")

    def _locked(self, job: Job, invoice: SdInvoice) -> str:
        where = f"{self._label(job, invoice)} is already {status_word(invoice)} in sevDesk"
        if job.kind == "invoice":
            return (
                f"{where}; its content can't be changed there. Cancel it in sevDesk (Stornieren) and send "
                "a new invoice."
            )
        return f"{where}; the changed project can't be applied to it. Edit or cancel it in sevDesk."


def _number(invoice: SdInvoice) -> str:
    return f" ({invoice.number})" if invoice.number else ""


def _sentence(parts: list[str]) -> str:
    """['created as draft', 'sent', 'payment booked'] → 'created as draft, sent and payment booked'."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
