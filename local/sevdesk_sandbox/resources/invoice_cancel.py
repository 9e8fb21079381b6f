"""POST /Invoice/{id}/cancelInvoice: the cancellation document (Stornorechnung, invoiceType "SR").

What the live API leaves behind (api-facts §10 "Cancellation", recorded 2026): the original and the new
SR both read status "1000" with paidAmount 0 and the original's customerInternalNote, both are enshrined,
the SR has negative sums, its own next number and `origin` pointing at the original, and the original
keeps `cancelled: null`. So status 1000 alone does not mean paid.

Preconditions, answered with 400 as the spec documents it (both specs list only 400/401/500): the spec
text says the operation cancels "another already created normal invoice", so a draft (which is deleted,
not cancelled), a cancellation document itself and an already cancelled invoice are refused. An invoice
with payments booked is refused too, asking for the payment to be reset first: the recorded live state
(paidAmount 0 on both) comes from an unpaid original, and what sevDesk does to a booked payment is not
known (UNCERTAIN), so the sandbox does not invent it.
"""

from __future__ import annotations

import copy

from ..clock import document_date_iso
from ..errors import bad_request
from ..listing import Row
from ..routing import Reply, RequestContext, ResourceRoutes
from ..templates import blank
from ..wire import number_str, ref, to_decimal
from .common import saved
from .invoice_save import positions_of
from .invoices import next_invoice_number

routes = ResourceRoutes()

# Header fields the cancellation document takes over from the original.
COPIED = (
    "contact",
    "contactPerson",
    "address",
    "addressName",
    "addressName2",
    "addressStreet",
    "addressZip",
    "addressCity",
    "addressCountry",
    "addressGender",
    "deliveryDate",
    "deliveryDateUntil",
    "currency",
    "taxRule",
    "taxRate",
    "taxText",
    "taxType",
    "showNet",
    "smallSettlement",
    "customerInternalNote",
    "deliveryAddressCountry",
    "propertyIsEInvoice",
)
INVOICE_SUMS = (
    "sumNet",
    "sumTax",
    "sumGross",
    "sumDiscounts",
    "sumNetForeignCurrency",
    "sumTaxForeignCurrency",
    "sumGrossForeignCurrency",
    "sumDiscountsForeignCurrency",
    "sumNetAccounting",
    "sumTaxAccounting",
    "sumGrossAccounting",
    "sumDiscountNet",
    "sumDiscountGross",
    "sumDiscountNetForeignCurrency",
    "sumDiscountGrossForeignCurrency",
)
POSITION_AMOUNTS = (
    "quantity",
    "sumNet",
    "sumTax",
    "sumGross",
    "sumDiscount",
    "sumNetAccounting",
    "sumTaxAccounting",
    "sumGrossAccounting",
)


def cancellation_of(ctx: RequestContext, invoice_id: str) -> Row | None:
    """The SR whose origin is this invoice, if it was cancelled."""
    for row in ctx.state.rows(ctx.account, "Invoice"):
        origin = row.get("origin")
        if row.get("invoiceType") == "SR" and isinstance(origin, dict) and origin.get("id") == invoice_id:
            return row
    return None


def _negated(row: Row, fields: tuple[str, ...]) -> None:
    for name in fields:
        value = row.get(name)
        if value not in (None, ""):
            row[name] = number_str(-to_decimal(value))


def _check_cancellable(ctx: RequestContext, invoice: Row) -> None:
    label = invoice.get("invoiceNumber") or invoice["id"]
    if invoice.get("invoiceType") == "SR":
        raise bad_request(f"The invoice {label} is a cancellation invoice and can not be cancelled.")
    if invoice.get("status") == "100":
        raise bad_request(f"The invoice {label} is a draft; drafts are deleted, not cancelled.")
    if cancellation_of(ctx, invoice["id"]) is not None:
        raise bad_request(f"The invoice {label} has already been cancelled.")
    if to_decimal(invoice.get("paidAmount") or 0) > 0:
        raise bad_request(f"The invoice {label} has payments booked; reset it to open before cancelling it.")


@routes.post("/Invoice/<object_id>/cancelInvoice")
def cancel_invoice(ctx: RequestContext, object_id: str) -> Reply:
    original = ctx.state.require(ctx.account, "Invoice", object_id)
    _check_cancellable(ctx, original)
    now = ctx.state.timestamp()

    cancellation = blank("Invoice")
    cancellation.update({name: copy.deepcopy(original.get(name)) for name in COPIED})
    cancellation.update({name: original.get(name) for name in INVOICE_SUMS})
    _negated(cancellation, INVOICE_SUMS)
    cancellation.update(
        invoiceType="SR",
        origin=ref(original["id"], "Invoice"),
        invoiceNumber=next_invoice_number(ctx, "SR"),
        header=f"Stornorechnung zu Rechnung {original.get('invoiceNumber') or original['id']}",
        invoiceDate=document_date_iso(now),
        createUser=ref(ctx.account.sev_user_id, "SevUser"),
        status="1000",  # "automatically paid" (spec text)
        paidAmount=0,
        payDate=now,
        sendDate=now,
        sendType=original.get("sendType"),
        enshrined=now,
    )
    stored = ctx.state.insert(ctx.account, "Invoice", cancellation)
    for position in positions_of(ctx, original["id"]):
        mirrored = {k: copy.deepcopy(v) for k, v in position.items() if k not in ("id", "create", "update")}
        _negated(mirrored, POSITION_AMOUNTS)
        mirrored["invoice"] = ref(stored["id"], "Invoice")
        ctx.state.insert(ctx.account, "InvoicePos", mirrored)

    # The original reads like a paid invoice with nothing paid; no cancelled flag (api-facts §10).
    original.update(status="1000", paidAmount=0, enshrined=original.get("enshrined") or now)
    ctx.state.touch(original)
    return saved(ctx, stored, 201)
