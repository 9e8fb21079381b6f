"""Invoices (api-facts §5): reads and filters, saveInvoice, and the status transitions
sendBy (100 -> 200), bookAmount (-> 750/1000), resetToDraft and resetToOpen."""

from __future__ import annotations

import copy
import re
from typing import Any

from ..clock import document_date_iso
from ..errors import bad_request, unprocessable
from ..listing import Row, contains_filter, date_range, equals_filter, order_by, page, ref_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from ..wire import is_true, json_number, money, number_str, ref, ref_id, to_decimal
from .common import get_reply, list_reply, renderer, resolve_ref, saved
from .invoice_save import positions_of, save_invoice

routes = ResourceRoutes()

SEND_TYPES = ("VPR", "VP", "VM", "VPDF")
PAYMENT_TYPES = ("FULL_PAYMENT", "N", "CB", "CF", "O", "OF", "MTC")
# Booking types that settle the invoice although the amount differs (skonto, fees, ...).
SETTLING_TYPES = {"CB", "CF", "O", "OF", "MTC"}
FIRST_INVOICE_NUMBER = 1000


def _filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    rows = equals_filter(ctx, rows, "status")
    rows = equals_filter(ctx, rows, "invoiceNumber")
    rows = equals_filter(ctx, rows, "invoiceType")
    rows = ref_filter(ctx, rows, "contact")
    # Live clients send customerInternalNote, the tag text spells it customerIntenalNote: take both.
    # Matching is LIKE-style, so the caller has to compare the returned value exactly.
    for param in ("customerInternalNote", "customerIntenalNote"):
        rows = contains_filter(ctx, rows, param, ("customerInternalNote",))
    starts = ctx.arg("headerStartsWith")
    if starts is not None:
        rows = [row for row in rows if str(row.get("header") or "").startswith(starts)]
    rows = date_range(ctx, rows, "invoiceDate")
    return order_by(ctx, rows, "orderByInvoiceNumber", "invoiceNumber")


@routes.get("/Invoice")
def list_invoices(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "Invoice", _filters)


@routes.get("/Invoice/<object_id>")
def get_invoice(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "Invoice", object_id)


@routes.get("/Invoice/<object_id>/getPositions")
def get_positions(ctx: RequestContext, object_id: str) -> Reply:
    ctx.state.require(ctx.account, "Invoice", object_id)
    return page(ctx, positions_of(ctx, object_id), renderer(ctx)), 200


@routes.get("/Invoice/<object_id>/getIsPartiallyPaid")
def get_is_partially_paid(ctx: RequestContext, object_id: str) -> Reply:
    invoice = ctx.state.require(ctx.account, "Invoice", object_id)
    return {"objects": invoice.get("status") == "750"}, 200


@routes.get("/InvoicePos")
def list_positions(ctx: RequestContext) -> Reply:
    def filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
        return ref_filter(ctx, ref_filter(ctx, rows, "invoice"), "part")

    return list_reply(ctx, "InvoicePos", filters)


@routes.post("/Invoice/Factory/saveInvoice")
def save(ctx: RequestContext) -> Reply:
    return save_invoice(ctx)


def next_invoice_number(ctx: RequestContext, invoice_type: str) -> str:
    pattern = re.compile(rf"^{re.escape(invoice_type)}-(\d+)$")
    used = [
        int(match.group(1))
        for row in ctx.state.rows(ctx.account, "Invoice")
        if (match := pattern.match(str(row.get("invoiceNumber") or "")))
    ]
    return f"{invoice_type}-{max([FIRST_INVOICE_NUMBER - 1, *used]) + 1}"


@routes.get("/Invoice/Factory/getNextInvoiceNumber")
def get_next_invoice_number(ctx: RequestContext) -> Reply:
    return {"objects": next_invoice_number(ctx, ctx.arg("invoiceType") or "RE")}, 200


def _has_address(invoice: Row) -> bool:
    parts = ("address", "addressName", "addressStreet", "addressZip", "addressCity")
    return any(str(invoice.get(part) or "").strip() for part in parts)


@routes.put("/Invoice/<object_id>/sendBy")
def send_by(ctx: RequestContext, object_id: str) -> Reply:
    body = ctx.json_object()
    send_type = body.get("sendType")
    if send_type not in SEND_TYPES:
        raise bad_request(f"Invalid sendType {send_type!r}; allowed are {', '.join(SEND_TYPES)}")
    if "sendDraft" not in body:
        raise bad_request("'sendDraft' is required")
    invoice = ctx.state.require(ctx.account, "Invoice", object_id)
    if is_true(body["sendDraft"]):
        return saved(ctx, invoice)  # an internal draft copy: status and bookings stay as they are
    if invoice.get("status") == "100":
        if not invoice.get("contact"):
            raise unprocessable("An invoice without a contact can not be sent.")
        if not _has_address(invoice):
            raise unprocessable("The invoice has no address and can not be sent.")
        if not invoice.get("invoiceNumber"):
            invoice["invoiceNumber"] = next_invoice_number(ctx, str(invoice.get("invoiceType") or "RE"))
        invoice["status"] = "200"
    invoice["sendType"] = send_type
    invoice["sendDate"] = ctx.state.timestamp()
    ctx.state.touch(invoice)
    return saved(ctx, invoice)


def _booking_date(value: Any) -> str:
    try:
        return document_date_iso(value)
    except (ValueError, OverflowError):
        raise bad_request(f"Invalid date {value!r}") from None


def _record_cash_transaction(ctx: RequestContext, invoice: Row, check_account: Row, amount: Any, date: str) -> Row:
    """Offline (register) accounts: sevDesk creates the transaction itself (api-facts §5)."""
    return ctx.state.insert(
        ctx.account,
        "CheckAccountTransaction",
        {
            "valueDate": date,
            "entryDate": date,
            "paymtPurpose": invoice.get("invoiceNumber"),
            "amount": json_number(amount),
            "payeePayerName": None,
            "checkAccount": ref(check_account["id"], "CheckAccount"),
            "status": "400",
        },
    )


@routes.put("/Invoice/<object_id>/bookAmount")
def book_amount(ctx: RequestContext, object_id: str) -> Reply:
    body = ctx.json_object()
    invoice = ctx.state.require(ctx.account, "Invoice", object_id)
    try:
        amount = to_decimal(body.get("amount"))
    except ValueError:
        raise bad_request(f"Invalid amount {body.get('amount')!r}") from None
    if body.get("date") is None:
        raise bad_request("'date' is required")
    booking_date = _booking_date(body["date"])
    payment_type = body.get("type")
    if payment_type not in PAYMENT_TYPES:
        raise bad_request(f"Invalid type {payment_type!r}; allowed are {', '.join(PAYMENT_TYPES)}")
    account_ref = resolve_ref(ctx, body.get("checkAccount"), "CheckAccount", "checkAccount", required=True)
    assert account_ref is not None
    check_account = ctx.state.require(ctx.account, "CheckAccount", account_ref["id"])

    from_status = str(invoice.get("status"))
    if from_status == "100":
        raise unprocessable("A draft can not be paid")
    if from_status == "1000":
        raise unprocessable("The invoice is already paid")
    if check_account.get("type") == "online":
        if ref_id(body.get("checkAccountTransaction")) is None:
            raise unprocessable("Bookings on an online check account need a checkAccountTransaction.")
    else:
        _record_cash_transaction(ctx, invoice, check_account, amount, booking_date)

    paid = to_decimal(invoice.get("paidAmount") or 0) + amount
    settled = paid >= to_decimal(invoice.get("sumGross") or 0) or payment_type in SETTLING_TYPES
    to_status = "1000" if settled else "750"
    invoice["paidAmount"] = json_number(money(paid))
    invoice["status"] = to_status
    invoice["payDate"] = booking_date if settled else None
    ctx.state.touch(invoice)
    log = ctx.state.insert(
        ctx.account,
        "InvoiceLog",
        {
            "additionalInformation": None,
            "creditNote": ref(invoice["id"], "Invoice"),  # sic: the spec names the invoice so
            "fromStatus": from_status,
            "toStatus": to_status,
            "ammountPayed": number_str(amount),
            "bookingDate": booking_date,
        },
    )
    return {"objects": copy.deepcopy(log)}, 200


@routes.put("/Invoice/<object_id>/resetToDraft")
def reset_to_draft(ctx: RequestContext, object_id: str) -> Reply:
    invoice = ctx.state.require(ctx.account, "Invoice", object_id)
    if invoice.get("status") != "200":
        raise unprocessable(
            f"Only open invoices (status 200) can be reset to draft, status is {invoice.get('status')}."
        )
    invoice.update(status="100", payDate=None, enshrined=None)
    ctx.state.touch(invoice)
    return saved(ctx, invoice)


@routes.put("/Invoice/<object_id>/resetToOpen")
def reset_to_open(ctx: RequestContext, object_id: str) -> Reply:
    invoice = ctx.state.require(ctx.account, "Invoice", object_id)
    if invoice.get("status") not in {"750", "1000"}:
        raise unprocessable(
            f"Only paid or partially paid invoices can be reset to open, status is {invoice.get('status')}."
        )
    invoice.update(status="200", payDate=None, paidAmount=0)
    ctx.state.touch(invoice)
    return saved(ctx, invoice)
