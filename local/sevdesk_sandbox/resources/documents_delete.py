"""DELETE /Invoice/{id} and DELETE /Order/{id}: only drafts can be deleted; a sent document has to be
cancelled in sevDesk instead (409, as the spec documents for orders). Positions go with the document.
There is no DELETE /Part in sevDesk (api-facts §7); the admin API deletes parts."""

from __future__ import annotations

from ..deletion import delete_with_dependents
from ..errors import conflict
from ..routing import Reply, RequestContext, ResourceRoutes

routes = ResourceRoutes()

DRAFT = "100"


def _delete_draft(ctx: RequestContext, object_name: str, object_id: str, noun: str) -> Reply:
    row = ctx.state.require(ctx.account, object_name, object_id)
    if str(row.get("status")) != DRAFT:
        raise conflict(f"Only drafts can be deleted; this {noun} has status {row.get('status')}. Cancel it instead.")
    delete_with_dependents(ctx.state, ctx.account, object_name, row["id"])
    return {"objects": [None]}, 200


@routes.delete("/Invoice/<object_id>")
def delete_invoice(ctx: RequestContext, object_id: str) -> Reply:
    return _delete_draft(ctx, "Invoice", object_id, "invoice")


@routes.delete("/Order/<object_id>")
def delete_order(ctx: RequestContext, object_id: str) -> Reply:
    return _delete_draft(ctx, "Order", object_id, "order")
