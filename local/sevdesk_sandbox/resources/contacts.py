"""Contacts (api-facts §4): organisations (`name`) and persons (`surename`/`familyname`), the
depth=0 default that hides persons, customer numbers and their quirks."""

from __future__ import annotations

from typing import Any

from ..errors import SevdeskApiError, bad_request, conflict
from ..listing import Row, contains_filter, order_by, ref_filter
from ..routing import Reply, RequestContext, ResourceRoutes
from ..state import FIRST_CUSTOMER_NUMBER
from ..templates import blank
from ..wire import is_true
from .common import copy_fields, get_reply, list_reply, references, resolve_ref, saved

routes = ResourceRoutes()

FIELDS = (
    "name",
    "customerNumber",
    "surename",
    "familyname",
    "titel",
    "description",
    "academicTitle",
    "gender",
    "name2",
    "birthday",
    "vatNumber",
    "bankAccount",
    "bankNumber",
    "defaultCashbackTime",
    "defaultCashbackPercent",
    "defaultTimeToPay",
    "taxNumber",
    "taxOffice",
    "exemptVat",
    "taxType",
    "defaultDiscountAmount",
    "defaultDiscountPercentage",
    "buyerReference",
    "governmentAgency",
    "additionalInformation",
)
FLAGS = ("exemptVat", "defaultDiscountPercentage", "governmentAgency")
STATUSES = {"100", "500", "1000"}
# Children removed together with their contact.
DEPENDENTS = (
    ("ContactAddress", "contact"),
    ("CommunicationWay", "contact"),
    ("ContactCustomField", "contact"),
)
# Documents that keep a contact alive (DELETE -> 409).
USED_BY = (("Invoice", "contact"), ("Order", "contact"))


def is_person(row: Row) -> bool:
    return not row.get("name") and bool(row.get("surename") or row.get("familyname"))


def next_customer_number(ctx: RequestContext) -> str:
    numbers = [
        int(str(row["customerNumber"]))
        for row in ctx.state.rows(ctx.account, "Contact")
        if str(row.get("customerNumber") or "").isdigit()
    ]
    return str(max([FIRST_CUSTOMER_NUMBER - 1, *numbers]) + 1)


def _apply(ctx: RequestContext, body: dict[str, Any], row: Row, *, creating: bool) -> None:
    copy_fields(body, row, FIELDS, FLAGS)
    if "status" in body or creating:
        status = str(body.get("status") or "100")
        if status not in STATUSES:
            raise bad_request(f"Invalid contact status {status}; allowed are 100, 500, 1000")
        row["status"] = status
    if creating or "category" in body:
        row["category"] = resolve_ref(
            ctx, body.get("category"), "Category", "category", required=True, object_type="Contact"
        )
    if "parent" in body:
        row["parent"] = resolve_ref(ctx, body.get("parent"), "Contact", "parent")
    if not (row.get("name") or row.get("surename") or row.get("familyname")):
        raise bad_request("A contact needs a name (organisation) or a surename/familyname (person)")
    if creating and not row.get("customerNumber"):
        row["customerNumber"] = next_customer_number(ctx)
    parent = row.get("parent")
    if parent and ("parent" in body):
        # Live quirk (codecell): a person attached to an organisation takes over its number.
        parent_row = ctx.state.require(ctx.account, "Contact", parent["id"], status=400)
        row["customerNumber"] = parent_row.get("customerNumber")


def _addresses_of(ctx: RequestContext, contact_id: str) -> list[Row]:
    return [
        row
        for row in ctx.state.rows(ctx.account, "ContactAddress")
        if isinstance(row.get("contact"), dict) and row["contact"].get("id") == contact_id
    ]


def _address_filter(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    wanted = {
        "city": ctx.arg("city"),
        "zip": ctx.arg("zip"),
        "country": ctx.arg("country[id]"),
    }
    if not any(wanted.values()):
        return rows

    def matches(address: Row) -> bool:
        if wanted["city"] and str(address.get("city") or "").lower() != wanted["city"].lower():
            return False
        if wanted["zip"] and address.get("zip") != wanted["zip"]:
            return False
        country = address.get("country") or {}
        return not wanted["country"] or country.get("id") == wanted["country"]

    return [row for row in rows if any(matches(address) for address in _addresses_of(ctx, row["id"]))]


def _filters(ctx: RequestContext, rows: list[Row]) -> list[Row]:
    if not is_true(ctx.arg("depth") or "0"):
        rows = [row for row in rows if not is_person(row)]
    rows = contains_filter(ctx, rows, "customerNumber", ("customerNumber",))
    rows = contains_filter(ctx, rows, "name", ("name", "surename", "familyname"))
    rows = ref_filter(ctx, rows, "category")
    rows = ref_filter(ctx, rows, "parent")
    rows = _address_filter(ctx, rows)
    return order_by(ctx, rows, "orderByCustomerNumber", "customerNumber")


@routes.get("/Contact")
def list_contacts(ctx: RequestContext) -> Reply:
    return list_reply(ctx, "Contact", _filters)


@routes.get("/Contact/<object_id>")
def get_contact(ctx: RequestContext, object_id: str) -> Reply:
    return get_reply(ctx, "Contact", object_id)


@routes.post("/Contact")
def create_contact(ctx: RequestContext) -> Reply:
    row = blank("Contact")
    _apply(ctx, ctx.json_object(), row, creating=True)
    return saved(ctx, ctx.state.insert(ctx.account, "Contact", row), 201)


@routes.put("/Contact/<object_id>")
def update_contact(ctx: RequestContext, object_id: str) -> Reply:
    row = ctx.state.require(ctx.account, "Contact", object_id)
    draft = dict(row)
    _apply(ctx, ctx.json_object(), draft, creating=False)
    row.update(draft)
    ctx.state.touch(row)
    return saved(ctx, row)


@routes.delete("/Contact/<object_id>")
def delete_contact(ctx: RequestContext, object_id: str) -> Reply:
    ctx.state.require(ctx.account, "Contact", object_id)
    for object_name, field in USED_BY:
        if references(ctx.state.rows(ctx.account, object_name), field, object_id):
            raise conflict(f"The contact is still referenced by at least one {object_name} and can not be deleted")
    for object_name, field in DEPENDENTS:
        for child in ctx.state.rows(ctx.account, object_name):
            if isinstance(child.get(field), dict) and child[field].get("id") == object_id:
                ctx.state.delete(ctx.account, object_name, child["id"])
    ctx.state.delete(ctx.account, "Contact", object_id)
    return {"objects": [None]}, 200


@routes.get("/Contact/Factory/getNextCustomerNumber")
def get_next_customer_number(ctx: RequestContext) -> Reply:
    return {"objects": next_customer_number(ctx)}, 200


@routes.get("/Contact/Mapper/checkCustomerNumberAvailability")
def check_customer_number_availability(ctx: RequestContext) -> Reply:
    number = ctx.arg("customerNumber")
    if number is None:
        # Live quirk (codecell runtime-quirks.json): the missing parameter is not validated.
        raise SevdeskApiError(500, "Internal Server Error")
    taken = any(row.get("customerNumber") == number for row in ctx.state.rows(ctx.account, "Contact"))
    return {"objects": not taken}, 200
