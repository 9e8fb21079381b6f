"""Orders (quotes AN, confirmations AB, delivery notes LI; api-facts §8), read-only: the
sandbox gets them by seeding, which is how an importer meets them in a real account."""

from __future__ import annotations

from ..listing import Row, date_range, equals_filter, order_by, page, ref_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from ..wire import to_decimal
from .common import get_reply, list_reply, renderer

routes = ResourceRoutes()


def _filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    rows = equals_filter(ctx, rows, "orderType")
    rows = equals_filter(ctx, rows, "status")
    rows = equals_filter(ctx, rows, "orderNumber")
    rows = ref_filter(ctx, rows, "contact")
    rows = date_range(ctx, rows, "orderDate")
    return order_by(ctx, rows, "orderByOrderNumber", "orderNumber")


def positions_of(ctx: RequestContext, order_id: str) -> list[Row]:
    rows = [row for row in ctx.state.rows(ctx.account, "OrderPos") if (row.get("order") or {}).get("id") == order_id]
    return sorted(rows, key=lambda row: (int(to_decimal(row.get("positionNumber") or 0)), int(row["id"])))


@routes.get("/Order")
def list_orders(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "Order", _filters)


@routes.get("/Order/<object_id>")
def get_order(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "Order", object_id)


@routes.get("/Order/<object_id>/getPositions")
def get_positions(ctx: RequestContext, object_id: str) -> Reply:
    ctx.state.require(ctx.account, "Order", object_id)
    return page(ctx, positions_of(ctx, object_id), renderer(ctx)), 200


@routes.get("/OrderPos")
def list_positions(ctx: RequestContext) -> Reply:
    def filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
        return ref_filter(ctx, ref_filter(ctx, rows, "order"), "part")

    return list_reply(ctx, "OrderPos", filters)


@routes.get("/OrderPos/<object_id>")
def get_position(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "OrderPos", object_id)
