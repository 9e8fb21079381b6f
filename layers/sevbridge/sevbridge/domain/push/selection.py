"""Which of a contact's invoices travel with it (P3): current-year invoices that are sent or paid."""

from __future__ import annotations

from datetime import date

from sevbridge.domain.events import Invoice, InvoiceStatus

DRAFT_REASON = "draft: not included with the contact; transfer it manually"


def select_invoices_for_contact(
    invoices: list[Invoice], today: date
) -> tuple[list[Invoice], list[tuple[Invoice, str]]]:
    """(to transfer after the contact, [(left out, why)]), both in the given order."""
    selected: list[Invoice] = []
    skipped: list[tuple[Invoice, str]] = []
    for invoice in invoices:
        year = invoice.invoice_date.year
        if invoice.status is InvoiceStatus.DRAFT:
            skipped.append((invoice, DRAFT_REASON))
        elif year < today.year:
            skipped.append(
                (
                    invoice,
                    f"from {year}, before the current year: not included with the contact; transfer it manually",
                )
            )
        elif year > today.year:
            skipped.append(
                (
                    invoice,
                    f"from {year}, not the current year: not included with the contact; transfer it manually",
                )
            )
        else:
            selected.append(invoice)
    return selected, skipped
