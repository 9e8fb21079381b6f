"""Account-level reads: bookkeeping system version and the account's users."""

from __future__ import annotations

from ..routing import Reply, RequestContext, ResourceRoutes
from .common import get_reply, list_reply

routes = ResourceRoutes()


@routes.get("/Tools/bookkeepingSystemVersion")
def bookkeeping_system_version(ctx: RequestContext) -> Reply:
    return {"objects": {"version": ctx.account.bookkeeping_system_version}}, 200


@routes.get("/SevUser")
def list_users(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "SevUser", incremental=False)


@routes.get("/SevUser/<object_id>")
def get_user(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "SevUser", object_id)
