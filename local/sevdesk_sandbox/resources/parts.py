"""Parts/articles (api-facts §7). No DELETE, as in sevDesk. The list takes only partNumber and
name; create/update filters are ignored because it is uncertain whether /Part honours them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import bad_request, unprocessable
from ..listing import Row, contains_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from ..templates import blank
from ..wire import number_str, to_decimal
from .common import copy_fields, get_reply, list_reply, resolve_ref, saved

routes = ResourceRoutes()

FIELDS = ("name", "partNumber", "text", "internalComment")
NUMBERS = ("stock", "price", "priceNet", "priceGross", "pricePurchase")
# Update 2.0 accepts only these rates on parts (info text, "Parts").
TAX_RATES = frozenset({Decimal(0), Decimal(7), Decimal(19)})
STATUSES = {"50", "100"}


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return to_decimal(value)
    except ValueError:
        raise bad_request(f"{field} must be a number, {value!r} given") from None


def _number(value: Any, field: str) -> str | None:
    return None if value is None else number_str(_decimal(value, field))


def _apply(ctx: RequestContext, body: dict[str, Any], row: Row, *, creating: bool) -> None:
    if creating:
        missing = [name for name in ("name", "partNumber", "stock", "unity", "taxRate") if body.get(name) is None]
        if missing:
            raise bad_request(f"Missing required fields: {', '.join(missing)}")
    copy_fields(body, row, FIELDS)
    for name in NUMBERS:
        if name in body:
            row[name] = _number(body[name], name)
    if "stockEnabled" in body:
        copy_fields(body, row, ("stockEnabled",), ("stockEnabled",))
    if "taxRate" in body:
        rate = _decimal(body["taxRate"], "taxRate")
        if rate not in TAX_RATES:
            raise unprocessable(f"The tax rate {number_str(rate)}% is not allowed; parts accept 0, 7 or 19.")
        row["taxRate"] = number_str(rate)
    if "status" in body:
        status = str(body["status"])
        if status not in STATUSES:
            raise bad_request(f"Invalid part status {status}; allowed are 50, 100")
        row["status"] = status
    if creating or "unity" in body:
        row["unity"] = resolve_ref(ctx, body.get("unity"), "Unity", "unity", required=True)
    if "category" in body:
        row["category"] = resolve_ref(ctx, body["category"], "Category", "category", object_type="Part")


def _filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    rows = contains_filter(ctx, rows, "partNumber", ("partNumber",))
    return contains_filter(ctx, rows, "name", ("name",))


@routes.get("/Part")
def list_parts(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "Part", _filters, incremental=False)


@routes.get("/Part/<object_id>")
def get_part(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "Part", object_id)


@routes.get("/Part/<object_id>/getStock")
def get_stock(ctx: RequestContext, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, "Part", object_id)
    return {"objects": str(row.get("stock") or "0")}, 200


@routes.post("/Part")
def create_part(ctx: RequestContext) -> Reply:
    row = blank("Part")
    _apply(ctx, ctx.json_object(), row, creating=True)
    return saved(ctx, ctx.state.insert(ctx.account, "Part", row), 201)


@routes.put("/Part/<object_id>")
def update_part(ctx: RequestContext, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, "Part", object_id)
    draft = dict(row)
    _apply(ctx, ctx.json_object(), draft, creating=False)
    row.update(draft)
    ctx.state.touch(row)
    return saved(ctx, row)
