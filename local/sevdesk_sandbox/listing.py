"""List endpoint mechanics shared by all resources: envelope, paging, countAll, the Unix-second
create/update filters and reference filters like contact[id]."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .clock import parse_iso, parse_unix
from .errors import bad_request
from .routing import RequestContext
from .wire import is_true

Row = dict[str, Any]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _int_arg(ctx: RequestContext, name: str, default: int) -> int:
    raw = ctx.arg(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"Parameter {name} must be an integer, '{raw}' given") from None


def page(ctx: RequestContext, rows: list[Row], render: Callable[[Row], Row] | None = None) -> dict[str, Any]:
    """{"objects": [...]} for one page, plus "total" (a string, as sevDesk sends it) on countAll."""
    limit = _int_arg(ctx, "limit", DEFAULT_LIMIT)
    offset = _int_arg(ctx, "offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"Limit must be between 1 and {MAX_LIMIT}, {limit} given")
    if offset < 0:
        raise bad_request(f"Offset must not be negative, {offset} given")
    window = rows[offset : offset + limit]
    body: dict[str, Any] = {"objects": [render(row) if render else copy.deepcopy(row) for row in window]}
    if is_true(ctx.args.get("countAll", "")):
        body["total"] = str(len(rows))
    return body


def _moment(ctx: RequestContext, name: str) -> datetime | None:
    raw = ctx.arg(name)
    if raw is None:
        return None
    try:
        return parse_unix(raw)
    except (ValueError, OverflowError):
        raise bad_request(f"Parameter {name} must be a Unix timestamp, '{raw}' given") from None


def time_filters(ctx: RequestContext, rows: Iterable[Row]) -> list[Row]:
    """updateAfter/updateBefore/createAfter/createBefore in Unix seconds; bounds are exclusive,
    so a client that re-polls with its exact last watermark must rely on an overlap window."""
    bounds = [
        ("create", _moment(ctx, "createAfter"), _moment(ctx, "createBefore")),
        ("update", _moment(ctx, "updateAfter"), _moment(ctx, "updateBefore")),
    ]
    if all(after is None and before is None for _, after, before in bounds):
        return list(rows)  # no time filter: don't walk every row (lookups in big accounts stay cheap)
    result = []
    for row in rows:
        keep = True
        for field, after, before in bounds:
            if after is None and before is None:
                continue
            stamp = parse_iso(row.get(field))
            if stamp is None or (after is not None and stamp <= after) or (before is not None and stamp >= before):
                keep = False
        if keep:
            result.append(row)
    return result


def ref_matches(value: Any, wanted: str) -> bool:
    return isinstance(value, dict) and str(value.get("id")) == wanted


def ref_filter(ctx: RequestContext, rows: Iterable[Row], param: str, field: str | None = None) -> list[Row]:
    """`param[id]=X` keeps rows whose `field` references id X."""
    wanted = ctx.arg(f"{param}[id]")
    if wanted is None:
        return list(rows)
    return [row for row in rows if ref_matches(row.get(field or param), wanted)]


def equals_filter(ctx: RequestContext, rows: Iterable[Row], param: str, field: str | None = None) -> list[Row]:
    wanted = ctx.arg(param)
    if wanted is None:
        return list(rows)
    return [row for row in rows if str(row.get(field or param)) == wanted]


def contains_filter(ctx: RequestContext, rows: Iterable[Row], param: str, fields: tuple[str, ...]) -> list[Row]:
    """Case-insensitive LIKE %x%, the way sevDesk's text filters behave: callers must compare exactly."""
    wanted = ctx.arg(param)
    if wanted is None:
        return list(rows)
    needle = wanted.lower()
    return [row for row in rows if any(needle in str(row.get(f) or "").lower() for f in fields)]


def order_by(ctx: RequestContext, rows: list[Row], param: str, field: str) -> list[Row]:
    direction = (ctx.arg(param) or "").upper()
    if direction not in {"ASC", "DESC"}:
        return rows

    def key(row: Row) -> tuple[int, str]:
        value = str(row.get(field) or "")
        return (int(value), "") if value.isdigit() else (2**63, value)

    return sorted(rows, key=key, reverse=direction == "DESC")


def single(row: Row) -> dict[str, Any]:
    """GET by id answers with a one-element list, like sevDesk."""
    return {"objects": [copy.deepcopy(row)]}


def date_range(ctx: RequestContext, rows: list[Row], field: str) -> list[Row]:
    """startDate/endDate in Unix seconds, inclusive, on the document date."""
    bounds = []
    for name in ("startDate", "endDate"):
        raw = ctx.arg(name)
        try:
            bounds.append(parse_unix(raw) if raw is not None else None)
        except (ValueError, OverflowError):
            raise bad_request(f"Parameter {name} must be a Unix timestamp, '{raw}' given") from None
    start, end = bounds
    if start is None and end is None:
        return rows
    result = []
    for row in rows:
        moment = parse_iso(row.get(field))
        if moment is None or (start is not None and moment < start) or (end is not None and moment > end):
            continue
        result.append(row)
    return result
