"""Admin HTTP API (/__sandbox): the SandboxState methods, as JSON, for tests and the local stack.
Plain JSON answers (no sevDesk envelope) and no auth: it is a test fixture, not sevDesk."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .faults import Fault
from .state import Account, SandboxState


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "bookkeeping_system_version": account.bookkeeping_system_version,
        "sev_user_id": account.sev_user_id,
    }


def admin_blueprint(state: SandboxState) -> Blueprint:
    admin = Blueprint("sandbox_admin", __name__)

    def find_account(account_id: str) -> Account | None:
        try:
            return state.account(account_id)
        except KeyError:
            return None

    @admin.post("/accounts")
    def create_account() -> tuple[Response, int]:
        body = _body()
        account = state.create_account(
            name=str(body.get("name") or "Demo GmbH"),
            bookkeeping_system_version=str(body.get("bookkeeping_system_version") or "2.0"),
        )
        return jsonify({**_account_json(account), "token": account.token}), 201

    @admin.get("/accounts")
    def list_accounts() -> Response:
        return jsonify([_account_json(account) for account in state.accounts()])

    @admin.post("/accounts/<account_id>/rotate-token")
    def rotate_token(account_id: str) -> tuple[Response, int]:
        if find_account(account_id) is None:
            return _error(404, f"no account {account_id}")
        return jsonify({"token": state.rotate_token(account_id)}), 200

    @admin.post("/accounts/<account_id>/seed")
    def seed(account_id: str) -> tuple[Response, int]:
        if find_account(account_id) is None:
            return _error(404, f"no account {account_id}")
        body = _body()
        items = body.get("objects") if "objects" in body else [body]
        if not isinstance(items, list) or not items:
            return _error(400, "send {objectName, object} or {objects: [{objectName, object}, ...]}")
        created = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("objectName"), str):
                return _error(400, "every item needs objectName")
            raw = item.get("object")
            if raw is None:  # {objectName, ...fields} is accepted too
                raw = {key: value for key, value in item.items() if key != "objectName"}
            if not isinstance(raw, dict):
                return _error(400, "object must be a JSON object")
            created.append(state.seed(account_id, item["objectName"], raw))
        if "objects" in body:
            return jsonify({"objects": created}), 201
        return jsonify(created[0]), 201

    @admin.get("/accounts/<account_id>/objects/<object_name>")
    def objects(account_id: str, object_name: str) -> tuple[Response, int]:
        if find_account(account_id) is None:
            return _error(404, f"no account {account_id}")
        return jsonify(state.objects(account_id, object_name)), 200

    @admin.post("/faults")
    def add_fault() -> tuple[Response, int]:
        """One fault, or {"faults": [...]} to add a set at once (all or nothing)."""
        body = _body()
        items = body.get("faults") if "faults" in body else [body]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return _error(400, "send one fault object or {faults: [fault, ...]}")
        try:
            faults = [Fault.from_json(item) for item in items]
        except (TypeError, ValueError) as exc:
            return _error(400, str(exc))
        ids = [state.add_fault(fault) for fault in faults]
        if "faults" in body:
            return jsonify({"fault_ids": ids}), 201
        return jsonify({"fault_id": ids[0]}), 201

    @admin.get("/faults")
    def list_faults() -> Response:
        account_id = request.args.get("account_id") or None
        return jsonify([fault.to_json() for fault in state.faults(account_id)])

    @admin.delete("/faults")
    def clear_faults() -> tuple[str, int]:
        state.clear_faults(request.args.get("account_id") or None)
        return "", 204

    @admin.get("/requests")
    def requests() -> Response:
        account_id = request.args.get("account_id") or None
        return jsonify([entry.to_json() for entry in state.requests(account_id)])

    @admin.post("/reset")
    def reset() -> tuple[str, int]:
        state.reset()
        return "", 204

    @admin.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok", "app": current_app.name})

    return admin
