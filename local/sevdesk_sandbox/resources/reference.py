"""Read-only reference data: units, countries, categories, check accounts, communication way keys."""

from __future__ import annotations

from ..listing import Row, equals_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from .common import get_reply, list_reply

routes = ResourceRoutes()


@routes.get("/Unity")
def list_units(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "Unity", incremental=False)


@routes.get("/Unity/<object_id>")
def get_unit(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "Unity", object_id)


def _country_code(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    code = ctx.arg("code")
    # Codes are stored lower-case; sevDesk matches them case-sensitively, so "DE" finds nothing.
    return rows if code is None else [row for row in rows if row.get("code") == code]


@routes.get("/StaticCountry")
def list_countries(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "StaticCountry", _country_code, incremental=False)


@routes.get("/StaticCountry/<object_id>")
def get_country(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "StaticCountry", object_id)


def _object_type(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    return equals_filter(ctx, rows, "objectType")


@routes.get("/Category")
def list_categories(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "Category", _object_type, incremental=False)


@routes.get("/Category/<object_id>")
def get_category(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "Category", object_id)


@routes.get("/CheckAccount")
def list_check_accounts(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "CheckAccount", incremental=False)


@routes.get("/CheckAccount/<object_id>")
def get_check_account(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "CheckAccount", object_id)


@routes.get("/CommunicationWayKey")
def list_communication_way_keys(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "CommunicationWayKey", incremental=False)
