"""Contact addresses: created through their own endpoint, linked to a contact."""

from __future__ import annotations

from typing import Any

from ..listing import Row, ref_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from ..templates import blank
from .common import copy_fields, get_reply, list_reply, resolve_ref, saved, single_reply

routes = ResourceRoutes()

FIELDS = ("street", "zip", "city", "name", "name2", "name3", "name4")


def _apply(ctx: RequestContext, body: dict[str, Any], row: Row, *, creating: bool) -> None:
    copy_fields(body, row, FIELDS)
    if creating or "contact" in body:
        row["contact"] = resolve_ref(ctx, body.get("contact"), "Contact", "contact", required=True)
    if creating or "country" in body:
        row["country"] = resolve_ref(ctx, body.get("country"), "StaticCountry", "country", required=True)
    if creating or "category" in body:
        row["category"] = resolve_ref(
            ctx, body.get("category"), "Category", "category", required=True, object_type="ContactAddress"
        )


def _filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    return ref_filter(ctx, rows, "contact")


@routes.get("/ContactAddress")
def list_addresses(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "ContactAddress", _filters)


@routes.get("/ContactAddress/<object_id>")
def get_address(ctx: RequestContext, object_id: str) -> Reply:
    if ctx.arg("embed"):
        # Seen live (api-facts §10): with embed this GET by id answers a single object, not a list.
        return single_reply(ctx, "ContactAddress", object_id)
    return get_reply(ctx, "ContactAddress", object_id)


@routes.post("/ContactAddress")
def create_address(ctx: RequestContext) -> Reply:
    row = blank("ContactAddress")
    _apply(ctx, ctx.json_object(), row, creating=True)
    # Live (api-facts §10): the answer carries the contact expanded.
    return saved(ctx, ctx.state.insert(ctx.account, "ContactAddress", row), 201, expanded=("contact",))


@routes.put("/ContactAddress/<object_id>")
def update_address(ctx: RequestContext, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, "ContactAddress", object_id)
    draft = dict(row)
    _apply(ctx, ctx.json_object(), draft, creating=False)
    row.update(draft)
    ctx.state.touch(row)
    return saved(ctx, row)


@routes.delete("/ContactAddress/<object_id>")
def delete_address(ctx: RequestContext, object_id: str) -> Reply:
    ctx.state.require(ctx.account, "ContactAddress", object_id)
    ctx.state.delete(ctx.account, "ContactAddress", object_id)
    return {"objects": [None]}, 200
