"""Admin API for single objects and bulk data (/__sandbox/accounts/<id>/...), next to admin.py.

What a person does in sevDesk's web UI, for tests and demos: read, change (the `update` time moves,
as in sevDesk) and delete any object (with its dependents, no draft/usage rules), and generate
thousands of realistic records at once (generate.py).

    GET    /accounts/<id>/objects/<objectName>/<objectId>
    PATCH  /accounts/<id>/objects/<objectName>/<objectId>    {"fields": {...}, "update": "<ISO time>"?}
    DELETE /accounts/<id>/objects/<objectName>/<objectId>
    POST   /accounts/<id>/generate    {"contacts": 1000, "invoices": 1000, "parts": 0, "orders": 0,
                                       "cancelled": 0, "suppliers": 0, "seed": 0, "days": 365}
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .clock import parse_iso
from .deletion import delete_with_dependents
from .errors import SevdeskApiError
from .generate import generate
from .state import Account, SandboxState

GENERATE_FIELDS = ("contacts", "suppliers", "parts", "orders", "invoices", "cancelled", "seed", "days", "backdate")
MAX_GENERATED = 200_000


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def objects_blueprint(state: SandboxState) -> Blueprint:
    admin = Blueprint("sandbox_admin_objects", __name__)

    def find_account(account_id: str) -> Account | None:
        try:
            return state.account(account_id)
        except KeyError:
            return None

    @admin.get("/accounts/<account_id>/objects/<object_name>/<object_id>")
    def get_object(account_id: str, object_name: str, object_id: str) -> tuple[Response, int]:
        account = find_account(account_id)
        if account is None:
            return _error(404, f"no account {account_id}")
        with state.locked():
            row = state.get(account, object_name, object_id)
            if row is None:
                return _error(404, f"no {object_name} {object_id}")
            return jsonify(copy.deepcopy(row)), 200

    @admin.patch("/accounts/<account_id>/objects/<object_name>/<object_id>")
    def change_object(account_id: str, object_name: str, object_id: str) -> tuple[Response, int]:
        if find_account(account_id) is None:
            return _error(404, f"no account {account_id}")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("fields", {}), dict):
            return _error(400, 'send {"fields": {...}} and optionally "update" (an ISO-8601 time with offset)')
        update = body.get("update")
        if update is not None and parse_iso(update) is None:
            return _error(400, "update must be an ISO-8601 time with offset, e.g. 2026-01-05T10:00:00+01:00")
        try:
            row = state.change(account_id, object_name, object_id, body.get("fields") or {}, update=update)
        except SevdeskApiError:
            return _error(404, f"no {object_name} {object_id}")
        return jsonify(row), 200

    @admin.delete("/accounts/<account_id>/objects/<object_name>/<object_id>")
    def delete_object(account_id: str, object_name: str, object_id: str) -> tuple[Response, int]:
        account = find_account(account_id)
        if account is None:
            return _error(404, f"no account {account_id}")
        with state.locked():
            if state.get(account, object_name, object_id) is None:
                return _error(404, f"no {object_name} {object_id}")
            removed = delete_with_dependents(state, account, object_name, object_id)
        return jsonify({"deleted": removed}), 200

    @admin.post("/accounts/<account_id>/generate")
    def generate_objects(account_id: str) -> tuple[Response, int]:
        if find_account(account_id) is None:
            return _error(404, f"no account {account_id}")
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        unknown = sorted(set(body) - set(GENERATE_FIELDS))
        if unknown:
            return _error(400, f"unknown fields {unknown}; allowed: {', '.join(GENERATE_FIELDS)}")
        counts: dict[str, Any] = {
            name: body.get(name, 0) for name in GENERATE_FIELDS if name not in ("days", "backdate")
        }
        backdate = body.get("backdate", False)
        if not isinstance(backdate, bool):
            return _error(400, "backdate must be true or false")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()):
            return _error(400, "every count must be a non-negative integer")
        if sum(v for k, v in counts.items() if k != "seed") > MAX_GENERATED:
            return _error(400, f"at most {MAX_GENERATED} records per call")
        days = body.get("days", 365)
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
            return _error(400, "days must be an integer from 1 to 3650")
        try:
            made = generate(state, account_id, days=days, backdate=backdate, **counts)
        except ValueError as exc:
            return _error(400, str(exc))
        return jsonify({"created": made.counts()}), 201

    return admin
