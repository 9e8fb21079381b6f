"""POST /Invoice/Factory/saveInvoice (api-facts §5, §10): create a draft, or edit a draft and its
positions. Everything is validated before anything is stored, so a rejected call changes nothing."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from ..clock import document_date_iso, dotted, iso, parse_iso
from ..embedding import expand
from ..errors import unprocessable
from ..listing import Row
from ..routing import Reply, RequestContext
from ..templates import blank
from ..wire import is_true, json_number, number_str, php_type, ref, ref_id, to_decimal
from .common import copy_fields, resolve_ref
from .document_amounts import Line, calculate

# Revenue tax rules of Update 2.0 and the position rates each allows (None: depends on the country).
TAX_RULE_RATES: dict[str, frozenset[Decimal] | None] = {
    "1": frozenset({Decimal(0), Decimal(7), Decimal(19)}),
    "2": frozenset({Decimal(0)}),
    "3": frozenset({Decimal(0)}),
    "4": frozenset({Decimal(0)}),
    "5": frozenset({Decimal(0)}),
    "11": frozenset({Decimal(0)}),
    "17": frozenset({Decimal(0)}),
    "18": None,
    "19": None,
    "20": None,
    "21": frozenset({Decimal(0)}),
}
LEGACY_TAX_TYPES = {"default": "1", "eu": "3", "noteu": "17", "ss": "11"}
INVOICE_TYPES = ("RE", "WKR", "SR", "MA", "TR", "AR", "ER")
HEADER_FIELDS = (
    "invoiceNumber",
    "header",
    "headText",
    "footText",
    "timeToPay",
    "discountTime",
    "discount",
    "customerInternalNote",
    "address",
    "addressName",
    "addressStreet",
    "addressZip",
    "addressCity",
    "taxText",
    "taxType",
    "taxRate",
    "currency",
    "invoiceType",
    "deliveryAddressCountry",
    "paymentMethod",
    "costCentre",
    "origin",
    "showNet",
    "smallSettlement",
)
HEADER_FLAGS = ("showNet", "smallSettlement")
DATE_FIELDS = ("invoiceDate", "deliveryDate", "deliveryDateUntil")
POSITION_FIELDS = ("name", "text", "positionNumber")
# Position fields the saveInvoice answer sends as JSON numbers (api-facts §10); taxRate stays "19.00".
ANSWER_NUMBERS = (
    "quantity",
    "price",
    "priceNet",
    "priceTax",
    "priceGross",
    "positionNumber",
    "discount",
    "sumNet",
    "sumTax",
    "sumGross",
    "sumDiscount",
    "sumNetAccounting",
    "sumTaxAccounting",
    "sumGrossAccounting",
)


def _array_param(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise unprocessable(f"{name} expected array with 'id' and 'objectName'. {php_type(value)} given")


def _number(value: Any, field: str) -> Decimal:
    try:
        return to_decimal(value)
    except ValueError:
        raise unprocessable(f"{field} must be a number, {value!r} given") from None


def _tax_rule(data: dict[str, Any], row: Row, *, creating: bool) -> None:
    if data.get("taxRule") is not None:
        rule = ref_id(data["taxRule"])
    else:
        legacy = data.get("taxType")
        if legacy == "custom" or data.get("taxSet"):
            raise unprocessable("taxType 'custom' and taxSet are not supported in sevDesk Update 2.0; use taxRule")
        rule = LEGACY_TAX_TYPES.get(str(legacy)) if legacy else None
        if rule is None:
            if creating:
                raise unprocessable("taxRule is required")
            return
    if rule not in TAX_RULE_RATES:
        raise unprocessable(f"Invalid taxRule {rule}")
    row["taxRule"] = ref(rule, "TaxRule")


def _dates(ctx: RequestContext, data: dict[str, Any], row: Row, *, creating: bool) -> None:
    for name in DATE_FIELDS:
        if data.get(name) is None:
            continue
        try:
            row[name] = document_date_iso(data[name])
        except (ValueError, OverflowError):
            raise unprocessable(f"Invalid {name} {data[name]!r}; use dd.mm.yyyy or a timestamp") from None
    if creating and not row.get("invoiceDate"):
        row["invoiceDate"] = document_date_iso(iso(ctx.state.now()))
    invoice_date, delivery_date = parse_iso(row.get("invoiceDate")), parse_iso(row.get("deliveryDate"))
    if row.get("invoiceType") == "RE" and invoice_date and delivery_date and delivery_date > invoice_date:
        # Spec text: a regular invoice can not be delivered after it was issued (that is an AR).
        raise unprocessable(
            f"The deliveryDate ({dotted(delivery_date)}) must not be after the invoiceDate "
            f"({dotted(invoice_date)}) for invoices of type RE."
        )


def _apply_header(ctx: RequestContext, data: dict[str, Any], row: Row, *, creating: bool) -> None:
    status = data.get("status")
    if creating:
        if status is not None and str(status) != "100":
            raise unprocessable("Invalid status. New invoices must be created with status 100.")
        row["createUser"] = ref(ctx.account.sev_user_id, "SevUser")
    elif status is not None and str(status) != row.get("status"):
        raise unprocessable("The status can not be changed with saveInvoice; use sendBy, bookAmount or resetToDraft.")
    copy_fields(data, row, HEADER_FIELDS, HEADER_FLAGS)
    if (creating or "currency" in data) and not str(data.get("currency") or "").strip():
        raise unprocessable("Currency is required.")
    if row.get("invoiceType") not in INVOICE_TYPES:
        raise unprocessable(f"Invalid invoiceType {row.get('invoiceType')!r}")
    if creating or "contact" in data:
        if ref_id(data.get("contact")) is None:
            raise unprocessable("An invoice needs a contact.")
        row["contact"] = resolve_ref(ctx, data.get("contact"), "Contact", "contact", status=422)
    if data.get("contactPerson") is not None:
        row["contactPerson"] = resolve_ref(ctx, data["contactPerson"], "SevUser", "contactPerson", status=422)
    elif creating:
        row["contactPerson"] = ref(ctx.account.sev_user_id, "SevUser")
    if "addressCountry" in data:
        row["addressCountry"] = resolve_ref(ctx, data["addressCountry"], "StaticCountry", "addressCountry", status=422)
    _tax_rule(data, row, creating=creating)
    _dates(ctx, data, row, creating=creating)


def _take_default_address(ctx: RequestContext, row: Row) -> None:
    if row.get("address"):
        return
    contact_id = (row.get("contact") or {}).get("id")
    addresses = [
        address
        for address in ctx.state.rows(ctx.account, "ContactAddress")
        if (address.get("contact") or {}).get("id") == contact_id
    ]
    if not addresses:
        return  # Live (Nerdscave): the invoice silently ends up without an address.
    best = next((a for a in addresses if (a.get("category") or {}).get("id") == "47"), addresses[0])
    contact = ctx.state.get(ctx.account, "Contact", contact_id) or {}
    person = " ".join(filter(None, (contact.get("surename"), contact.get("familyname"))))
    name = best.get("name") or contact.get("name") or person
    city_line = " ".join(filter(None, (best.get("zip"), best.get("city"))))
    row["address"] = "\n".join(filter(None, (name, best.get("street"), city_line)))
    if not row.get("addressCountry") and best.get("country"):
        row["addressCountry"] = copy.deepcopy(best["country"])


def _apply_position(ctx: RequestContext, item: Any, row: Row, *, creating: bool) -> None:
    if not isinstance(item, dict):
        raise unprocessable(f"invoicePosSave expected array with 'id' and 'objectName'. {php_type(item)} given")
    if creating or "quantity" in item:
        row["quantity"] = number_str(_number(item.get("quantity"), "quantity"))
    if "price" in item:
        row["price"] = number_str(_number(item["price"], "price")) if item["price"] is not None else "0"
    if item.get("discount") is not None:
        row["discount"] = number_str(_number(item["discount"], "discount"))
    if creating or "taxRate" in item:
        row["taxRate"] = f"{_number(item.get('taxRate'), 'taxRate'):.2f}"
    if creating or "unity" in item:
        if ref_id(item.get("unity")) is None:
            raise unprocessable("Every position needs a unity.")
        row["unity"] = resolve_ref(ctx, item.get("unity"), "Unity", "unity", status=422)
    if "part" in item:
        row["part"] = resolve_ref(ctx, item["part"], "Part", "part", status=422)
    copy_fields(item, row, POSITION_FIELDS)


def _check_rates(invoice: Row, positions: list[Row]) -> None:
    rule = (invoice.get("taxRule") or {}).get("id")
    allowed = TAX_RULE_RATES.get(str(rule)) if rule else None
    if allowed is None:
        return
    for position in positions:
        rate = to_decimal(position["taxRate"])
        if rate not in allowed:
            raise unprocessable(f"The tax rate {number_str(rate)}% is not allowed for the tax rule {rule}.")


def apply_amounts(invoice: Row, positions: list[Row]) -> None:
    show_net = is_true(invoice.get("showNet"))
    lines = [
        Line(
            quantity=to_decimal(p["quantity"]),
            price=to_decimal(p.get("price") or 0),
            discount_percent=to_decimal(p.get("discount") or 0),
            tax_rate=to_decimal(p["taxRate"]),
        )
        for p in positions
    ]
    totals = calculate(lines, show_net)
    for position, amounts in zip(positions, totals.lines, strict=True):
        position.update(
            priceNet=number_str(amounts.price_net),
            priceTax=number_str(amounts.price_tax),
            priceGross=number_str(amounts.price_gross),
            sumNet=number_str(amounts.sum_net),
            sumTax=number_str(amounts.sum_tax),
            sumGross=number_str(amounts.sum_gross),
            sumDiscount=number_str(amounts.sum_discount),
            sumNetAccounting=number_str(amounts.sum_net),
            sumTaxAccounting=number_str(amounts.sum_tax),
            sumGrossAccounting=number_str(amounts.sum_gross),
        )
    discounts = sum((amounts.sum_discount for amounts in totals.lines), Decimal(0))
    for suffix in ("", "ForeignCurrency", "Accounting"):
        invoice[f"sumNet{suffix}"] = number_str(totals.sum_net)
        invoice[f"sumTax{suffix}"] = number_str(totals.sum_tax)
        invoice[f"sumGross{suffix}"] = number_str(totals.sum_gross)
    invoice["sumDiscounts"] = invoice["sumDiscountsForeignCurrency"] = number_str(discounts)


def positions_of(ctx: RequestContext, invoice_id: str) -> list[Row]:
    # Unsorted (the matches are sorted below): sorting every position of the account per invoice saved
    # made each save slower the more invoices an account had (a 10 000-invoice backfill slowed down).
    table = ctx.account.table("InvoicePos")
    rows = [row for row in table.values() if (row.get("invoice") or {}).get("id") == invoice_id]
    return sorted(rows, key=lambda row: (int(to_decimal(row.get("positionNumber") or 0)), int(row["id"])))


def answer_position(ctx: RequestContext, row: Row) -> Row:
    """A position as the saveInvoice answer shows it: `unity` and `invoice` expanded (api-facts §10)."""
    result = expand(ctx.state, ctx.account, row, {"unity": {}, "invoice": {}})
    for name in ANSWER_NUMBERS:
        if name in result:
            result[name] = json_number(result[name])
    if result.get("quantity") == 1:
        result["quantity"] = True  # seen live: a quantity of 1 comes back as JSON true
    return result


def save_invoice(ctx: RequestContext) -> Reply:
    body = ctx.json_object()
    data = body.get("invoice")
    if not isinstance(data, dict):
        raise unprocessable(f"invoice expected array with the invoice data. {php_type(data)} given")
    to_save = _array_param(body, "invoicePosSave")
    to_delete = _array_param(body, "invoicePosDelete")
    _array_param(body, "discountSave")

    invoice_id = ref_id(data.get("id"))
    existing = ctx.state.require(ctx.account, "Invoice", invoice_id) if invoice_id else None
    if existing is not None and existing.get("status") != "100":
        raise unprocessable(
            f"The invoice {existing.get('invoiceNumber') or existing['id']} is not a draft "
            f"(status {existing.get('status')}) and can not be changed."
        )
    draft = dict(existing) if existing is not None else blank("Invoice")
    _apply_header(ctx, data, draft, creating=existing is None)
    if is_true(body.get("takeDefaultAddress")):
        _take_default_address(ctx, draft)

    kept = {row["id"]: copy.deepcopy(row) for row in (positions_of(ctx, existing["id"]) if existing else [])}
    deleted = []
    for item in to_delete:
        position_id = ref_id(item)
        if position_id not in kept:
            raise unprocessable(f"No Model_InvoicePos with the id {position_id} was found", code=151)
        deleted.append(kept.pop(position_id))
    added: list[Row] = []
    for item in to_save:
        position_id = ref_id(item.get("id")) if isinstance(item, dict) else None
        if position_id is not None:
            if position_id not in kept:
                raise unprocessable(f"No Model_InvoicePos with the id {position_id} was found", code=151)
            _apply_position(ctx, item, kept[position_id], creating=False)
        else:
            row = blank("InvoicePos")
            row["positionNumber"] = str(len(kept) + len(added))
            _apply_position(ctx, item, row, creating=True)
            added.append(row)
    positions = [*kept.values(), *added]
    if not positions:
        raise unprocessable("The given document must have at least one position")
    _check_rates(draft, positions)
    apply_amounts(draft, positions)

    # All checks passed: commit.
    if existing is not None:
        existing.update(draft)
        ctx.state.touch(existing)
        invoice = existing
    else:
        invoice = ctx.state.insert(ctx.account, "Invoice", draft)
    for row in deleted:
        ctx.state.delete(ctx.account, "InvoicePos", row["id"])
    for row in kept.values():
        stored = ctx.state.require(ctx.account, "InvoicePos", row["id"])
        stored.update(row)
        ctx.state.touch(stored)
    for row in added:
        row["invoice"] = ref(invoice["id"], "Invoice")
        ctx.state.insert(ctx.account, "InvoicePos", row)
    answer = {
        "invoice": copy.deepcopy(invoice),
        "invoicePos": [answer_position(ctx, row) for row in positions_of(ctx, invoice["id"])],
        "vatdrop": "0",
    }
    return {"objects": answer}, 201
