"""Communication ways (e-mail, phone, ...) of a contact."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from ..listing import Row, contains_filter, equals_filter, ref_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from ..templates import blank
from ..wire import flag, wire
from .common import list_reply, resolve_ref, saved, single_reply

routes = ResourceRoutes()

TYPES = ("EMAIL", "PHONE", "WEB", "MOBILE", "FAX")


def _apply(ctx: RequestContext, body: dict[str, Any], row: Row, *, creating: bool) -> None:
    if creating or "contact" in body:
        row["contact"] = resolve_ref(ctx, body.get("contact"), "Contact", "contact", required=True)
    if creating or "type" in body:
        kind = body.get("type")
        if kind not in TYPES:
            raise bad_request(f"Invalid type {kind!r}; allowed are {', '.join(TYPES)}")
        row["type"] = kind
    if creating or "value" in body:
        value = body.get("value")
        if value is None or str(value).strip() == "":
            raise bad_request("'value' is required")
        row["value"] = wire(value)
    if creating or "key" in body:
        row["key"] = resolve_ref(ctx, body.get("key"), "CommunicationWayKey", "key", required=True)
    if "main" in body:
        row["main"] = flag(body["main"])


def _filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    rows = ref_filter(ctx, rows, "contact")
    rows = equals_filter(ctx, rows, "type")
    if ctx.arg("main") is not None:
        rows = [row for row in rows if row.get("main") == flag(ctx.arg("main"))]
    # `value` is undocumented (api-facts §4); a LIKE match, so callers verify the value themselves.
    return contains_filter(ctx, rows, "value", ("value",))


@routes.get("/CommunicationWay")
def list_communication_ways(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "CommunicationWay", _filters)


@routes.get("/CommunicationWay/<object_id>")
def get_communication_way(ctx: RequestContext, object_id: str) -> Reply:
    # Live (api-facts §10): a single object in `objects`, not a one-element list.
    return single_reply(ctx, "CommunicationWay", object_id)


@routes.post("/CommunicationWay")
def create_communication_way(ctx: RequestContext) -> Reply:
    row = blank("CommunicationWay")
    _apply(ctx, ctx.json_object(), row, creating=True)
    return saved(ctx, ctx.state.insert(ctx.account, "CommunicationWay", row), 201)


@routes.put("/CommunicationWay/<object_id>")
def update_communication_way(ctx: RequestContext, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, "CommunicationWay", object_id)
    draft = dict(row)
    _apply(ctx, ctx.json_object(), draft, creating=False)
    row.update(draft)
    ctx.state.touch(row)
    return saved(ctx, row)


@routes.delete("/CommunicationWay/<object_id>")
def delete_communication_way(ctx: RequestContext, object_id: str) -> Reply:
    ctx.state.require(ctx.account, "CommunicationWay", object_id)
    ctx.state.delete(ctx.account, "CommunicationWay", object_id)
    return {"objects": [None]}, 200
