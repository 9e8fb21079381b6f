"""Helpers shared by resource modules: list/get with embed, body field extraction, references."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from ..embedding import ChildIndex, expand, parse_embed
from ..errors import SevdeskApiError, not_found
from ..listing import page, time_filters
from ..routing import Reply, RequestContext
from ..wire import flag, ref, ref_id, wire

Row = dict[str, Any]
Filter = Callable[[RequestContext, list[Row]], list[Row]]


def renderer(ctx: RequestContext) -> Callable[[Row], Row]:
    tree = parse_embed(ctx.arg("embed"))
    if not tree:
        return copy.deepcopy
    index = ChildIndex(ctx.state, ctx.account)  # one per request: a page shares the child lookups
    return lambda row: expand(ctx.state, ctx.account, row, tree, index)


def list_reply(ctx: RequestContext, object_name: str, *filters: Filter, incremental: bool = True) -> Reply:
    rows = ctx.state.rows(ctx.account, object_name)
    if incremental:
        rows = time_filters(ctx, rows)
    for apply in filters:
        rows = apply(ctx, rows)
    return page(ctx, rows, renderer(ctx)), 200


def get_reply(ctx: RequestContext, object_name: str, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, object_name, object_id)
    return {"objects": [renderer(ctx)(row)]}, 200


def saved(ctx: RequestContext, row: Row, status: int = 200, *, expanded: Iterable[str] = ()) -> Reply:
    """POST/PUT answers carry the single saved object in `objects`; `expanded` names references the
    live answer shows expanded, as a GET with embed would (api-facts §10)."""
    tree = {**{name: {} for name in expanded}, **parse_embed(ctx.arg("embed"))}
    return {"objects": expand(ctx.state, ctx.account, row, tree) if tree else copy.deepcopy(row)}, status


def single_reply(ctx: RequestContext, object_name: str, object_id: str) -> Reply:
    """GET by id where live sevDesk answers one object in `objects`, not a one-element list."""
    row = ctx.state.require(ctx.account, object_name, object_id)
    return {"objects": renderer(ctx)(row)}, 200


def resolve_ref(
    ctx: RequestContext,
    value: Any,
    object_name: str,
    field: str,
    *,
    required: bool = False,
    status: int = 400,
    object_type: str | None = None,
) -> dict[str, Any] | None:
    """Validate a {id, objectName} reference in a request body and return it in wire form."""
    object_id = ref_id(value)
    if object_id is None:
        if required:
            raise SevdeskApiError(status, f"'{field}' is required")
        return None
    row = ctx.state.get(ctx.account, object_name, object_id)
    if row is None or (object_type is not None and row.get("objectType") != object_type):
        raise not_found(object_name, object_id, status)
    return ref(object_id, object_name)


def copy_fields(
    body: dict[str, Any],
    target: Row,
    fields: Iterable[str],
    flags: Iterable[str] = (),
) -> None:
    """Copy plain fields present in `body`, in sevDesk's wire form."""
    flag_names = set(flags)
    for name in fields:
        if name in body:
            value = body[name]
            target[name] = flag(value) if name in flag_names and value is not None else wire(value)


def references(rows: Iterable[Row], field: str, object_id: str) -> bool:
    return any(isinstance(row.get(field), dict) and row[field].get("id") == object_id for row in rows)
