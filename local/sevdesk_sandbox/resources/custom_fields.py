"""Contact custom fields: the only place sevDesk lets us keep an external id on a contact
(api-facts §4, "Finding by our external ID")."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from ..listing import Row, ref_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from ..templates import blank
from ..wire import wire
from .common import get_reply, list_reply, renderer, resolve_ref, saved

routes = ResourceRoutes()


def _apply_setting(body: dict[str, Any], row: Row, *, creating: bool) -> None:
    if creating or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("'name' is required")
        row["name"] = name
    if "description" in body:
        row["description"] = wire(body["description"])


@routes.get("/ContactCustomFieldSetting")
def list_settings(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "ContactCustomFieldSetting")


@routes.get("/ContactCustomFieldSetting/<object_id>")
def get_setting(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "ContactCustomFieldSetting", object_id)


@routes.post("/ContactCustomFieldSetting")
def create_setting(ctx: RequestContext) -> Reply:
    row = blank("ContactCustomFieldSetting")
    _apply_setting(ctx.json_object(), row, creating=True)
    row["identifier"] = uuid.uuid4().hex
    return saved(ctx, ctx.state.insert(ctx.account, "ContactCustomFieldSetting", row), 201)


@routes.put("/ContactCustomFieldSetting/<object_id>")
def update_setting(ctx: RequestContext, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, "ContactCustomFieldSetting", object_id)
    _apply_setting(ctx.json_object(), row, creating=False)
    ctx.state.touch(row)
    return saved(ctx, row)


def _apply_field(ctx: RequestContext, body: dict[str, Any], row: Row, *, creating: bool) -> None:
    if creating or "contact" in body:
        row["contact"] = resolve_ref(ctx, body.get("contact"), "Contact", "contact", required=True)
    if creating or "contactCustomFieldSetting" in body:
        row["contactCustomFieldSetting"] = resolve_ref(
            ctx,
            body.get("contactCustomFieldSetting"),
            "ContactCustomFieldSetting",
            "contactCustomFieldSetting",
            required=True,
        )
    if creating or "value" in body:
        if body.get("value") is None:
            raise bad_request("'value' is required")
        row["value"] = wire(body["value"])


def _field_filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    rows = ref_filter(ctx, rows, "contact")
    return ref_filter(ctx, rows, "contactCustomFieldSetting")


@routes.get("/ContactCustomField")
def list_fields(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "ContactCustomField", _field_filters)


@routes.get("/ContactCustomField/<object_id>")
def get_field(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "ContactCustomField", object_id)


@routes.post("/ContactCustomField")
def create_field(ctx: RequestContext) -> Reply:
    row = blank("ContactCustomField")
    _apply_field(ctx, ctx.json_object(), row, creating=True)
    return saved(ctx, ctx.state.insert(ctx.account, "ContactCustomField", row), 201)


@routes.put("/ContactCustomField/<object_id>")
def update_field(ctx: RequestContext, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, "ContactCustomField", object_id)
    draft = dict(row)
    _apply_field(ctx, ctx.json_object(), draft, creating=False)
    row.update(draft)
    ctx.state.touch(row)
    return saved(ctx, row)


@routes.delete("/ContactCustomField/<object_id>")
def delete_field(ctx: RequestContext, object_id: str) -> Reply:
    ctx.state.require(ctx.account, "ContactCustomField", object_id)
    ctx.state.delete(ctx.account, "ContactCustomField", object_id)
    return {"objects": [None]}, 200


@routes.get("/Contact/Factory/findContactsByCustomFieldValue")
def find_contacts_by_custom_field_value(ctx: RequestContext) -> Reply:
    value = ctx.arg("value")
    if value is None:
        raise bad_request("Parameter value is required")
    setting_id = ctx.arg("customFieldSetting[id]")
    setting_name = ctx.arg("customFieldName")
    if setting_id is None and setting_name is None:
        raise bad_request("Either customFieldSetting or customFieldName is required")
    settings = {
        row["id"]
        for row in ctx.state.rows(ctx.account, "ContactCustomFieldSetting")
        if (setting_id is not None and row["id"] == setting_id)
        or (setting_id is None and row.get("name") == setting_name)
    }
    contact_ids = [
        row["contact"]["id"]
        for row in ctx.state.rows(ctx.account, "ContactCustomField")
        if row.get("value") == value
        and isinstance(row.get("contactCustomFieldSetting"), dict)
        and row["contactCustomFieldSetting"].get("id") in settings
        and isinstance(row.get("contact"), dict)
    ]
    render = renderer(ctx)
    contacts = [ctx.state.get(ctx.account, "Contact", contact_id) for contact_id in dict.fromkeys(contact_ids)]
    return {"objects": [render(contact) for contact in contacts if contact is not None]}, 200
