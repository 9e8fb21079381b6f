"""What a sevDesk invoice's own fields say about it, beyond its status (api-facts §10 "Cancellation").

After `cancelInvoice` the live API shows the original *and* its cancellation document (invoiceType
"SR", `origin` → the original) with status 1000, paidAmount 0 and the original's customerInternalNote,
which is our marker. So:
- a cancellation document is never the platform's document: it is never adopted, followed or booked;
- a document is cancelled when an SR with `origin` pointing at it exists; only then;
- status 1000 with nothing paid is not "paid".

A cancelled document of ours is left alone: it is neither created again (that would put the cancelled
invoice back into the books) nor booked. Its transfer ends `skipped` with a reason that starts with
CANCELLED_PREFIX, so the platform can tell it apart (docs/events.md "Cancelled in sevDesk").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sevbridge.domain.push.ports import DRAFT, OPEN, PAID, PARTIALLY_PAID, SdInvoice, SevdeskPort

CANCELLATION_TYPE = "SR"
CANCELLED_PREFIX = "cancelled in sevDesk"
STATUS_WORDS = {DRAFT: "a draft", OPEN: "open", PARTIALLY_PAID: "partially paid"}


def is_cancellation(invoice: SdInvoice) -> bool:
    return invoice.invoice_type == CANCELLATION_TYPE


def _oldest_first(invoice: SdInvoice) -> tuple[int, str]:
    return (len(invoice.id), invoice.id)


@dataclass(frozen=True)
class MarkerHits:
    """The invoices carrying one marker, exactly: the document (the oldest one that is not a
    cancellation document) and the cancellation documents that carry the marker too."""

    document: SdInvoice | None
    cancellations: tuple[SdInvoice, ...]

    def cancellation_of(self, invoice_id: str) -> SdInvoice | None:
        return next((sr for sr in self.cancellations if sr.origin_invoice_id == invoice_id), None)


def marker_hits(port: SevdeskPort, marker: str) -> MarkerHits:
    """One look-up by marker; the filter is a LIKE match, so values are compared exactly here."""
    return split_hits(i for i in port.find_invoices_by_marker(marker) if i.marker == marker)


def split_hits(invoices: Iterable[SdInvoice]) -> MarkerHits:
    ordered = sorted(invoices, key=_oldest_first)
    documents = [i for i in ordered if not is_cancellation(i)]
    return MarkerHits(documents[0] if documents else None, tuple(i for i in ordered if is_cancellation(i)))


def may_be_cancelled(invoice: SdInvoice) -> bool:
    """A cancelled original reads status 1000: only then is a look-up for its cancellation worth a call."""
    return invoice.status >= PAID


def status_word(invoice: SdInvoice) -> str:
    """How messages name the invoice's state: status 1000 is "paid" only when something was paid."""
    if invoice.status >= PAID:
        return "paid" if invoice.paid_amount > 0 else "closed without a payment (status 1000, nothing paid)"
    return STATUS_WORDS.get(invoice.status, f"in status {invoice.status}")


def cancelled_message(label: str, invoice: SdInvoice | None, cancellation: SdInvoice) -> str:
    which = f"{label} (sevDesk id {invoice.id})" if invoice is not None else label
    by = cancellation.number or f"id {cancellation.id}"
    return (
        f"{CANCELLED_PREFIX}: {which} was cancelled by cancellation invoice {by}; it is not created again "
        "and no payment is booked. If it is still owed, send a new invoice with a new source_id."
    )
