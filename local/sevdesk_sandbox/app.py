"""The Flask app: sevDesk API under /api/v1 (token auth, faults, request log, error envelope)
and the sandbox's admin API under /__sandbox."""

from __future__ import annotations

import contextlib
import math
import socket
import time
from typing import Any

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from .admin import admin_blueprint
from .admin_objects import objects_blueprint
from .errors import REASONS, SevdeskApiError, error_envelope
from .faults import Fault
from .request_log import RequestLogEntry
from .resources import ALL_ROUTES
from .routing import Handler, RequestContext
from .state import SandboxState

API_PREFIX = "/api/v1"
ADMIN_PREFIX = "/__sandbox"
# Query keys never written to the request log (old clients put the token in the URL).
SECRET_QUERY_KEYS = {"token"}


class _SevdeskJSON(DefaultJSONProvider):
    sort_keys = False  # keep sevDesk's field order (id, objectName, create, update, ...)
    ensure_ascii = False


def _is_api() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _api_path() -> str:
    return request.path[len(API_PREFIX) :] or "/"


def _json(app: Flask, payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(app.json.dumps(payload), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _nest_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """url-encoded bodies (which sevDesk accepts) as JSON-like dicts: a[b]=1 -> {"a": {"b": "1"}}."""
    result: dict[str, Any] = {}
    for key, value in form.items():
        parts = key.replace("]", "").split("[")
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[parts[-1]] = value
    return result


def _read_body() -> Any:
    if request.is_json:
        return request.get_json(silent=True)
    if request.form:
        return _nest_form(request.form)
    return None


def _fault_response(app: Flask, fault: Fault) -> Response:
    if fault.kind == "rate_limit":
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
        return _json(app, error_envelope(429, "Too Many Requests"), 429, headers)
    reason = REASONS.get(fault.status, "Server Error")
    if fault.body == "html":  # what a proxy in front of sevDesk sends, not sevDesk itself
        html = f"<html><head><title>{fault.status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
        return Response(html, status=fault.status, mimetype="text/html")
    return _json(app, error_envelope(fault.status, reason), fault.status)


def _drop_connection() -> None:
    """Close the client's connection without an answer (the dev server then fails to write one and
    treats that as a dropped connection): the client sees the connection closed at once."""
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def _make_view(app: Flask, state: SandboxState, handler: Handler) -> Any:
    def view(**path_params: str) -> Response:
        ctx = RequestContext(state=state, account=g.account, args=request.args, body=g.body)
        with state.locked():
            payload, status = handler(ctx, **path_params)
        return _json(app, payload, status)

    return view


def create_app(state: SandboxState | None = None) -> Flask:
    state = state if state is not None else SandboxState()
    app = Flask("sevdesk_sandbox")
    app.json = _SevdeskJSON(app)
    app.extensions["sevdesk_sandbox.state"] = state

    for index, route in enumerate(ALL_ROUTES):
        app.add_url_rule(
            API_PREFIX + route.rule,
            endpoint=f"api{index}_{route.handler.__name__}",
            view_func=_make_view(app, state, route.handler),
            methods=[route.method],
        )
    app.register_blueprint(admin_blueprint(state), url_prefix=ADMIN_PREFIX)
    app.register_blueprint(objects_blueprint(state), url_prefix=ADMIN_PREFIX)

    @app.before_request
    def authenticate_and_inject_faults() -> Response | None:
        if not _is_api():
            return None
        g.received = time.time()
        g.body = _read_body()
        g.delay_after = 0.0
        g.answer_after = None
        g.drop = False
        g.fault = None
        # No "Bearer" handling on purpose: sevDesk expects the bare token, anything else is wrong.
        account = state.account_for_token((request.headers.get("Authorization") or "").strip())
        g.account = account
        fault = state.take_fault(account.account_id if account else None, request.method, _api_path())
        if fault is not None:
            g.fault = fault.kind
            if fault.kind == "latency":
                time.sleep(fault.delay_seconds)
            elif fault.kind == "timeout_after_commit":
                g.delay_after = fault.delay_seconds
            elif fault.kind == "status_after_commit":
                g.answer_after = fault  # served normally below; the answer is replaced afterwards
            elif fault.kind == "drop_after_commit":
                g.drop = True  # served normally below; the connection is closed instead of answering
            elif fault.kind == "drop":
                g.drop = True
                return Response(status=503)  # never reaches the client
            else:
                return _fault_response(app, fault)
        if account is None:
            return _json(app, error_envelope(401, "Authentication required"), 401)
        return None

    @app.after_request
    def log_and_delay(response: Response) -> Response:
        if not _is_api():
            return response
        replaced_by: Fault | None = g.get("answer_after")
        if replaced_by is not None:
            # status_after_commit: whatever the request did is done; the client only sees the error.
            response = _fault_response(app, replaced_by)
        account = g.get("account")
        query = {key: value for key, value in request.args.items() if key not in SECRET_QUERY_KEYS}
        fault = g.get("fault")
        state.log_request(
            RequestLogEntry(
                method=request.method,
                path=_api_path(),
                query=query,
                json=g.get("body"),
                # What the client saw; a "drop" answered nothing (drop_after_commit keeps the status
                # of the work that was done, the client saw nothing either).
                status=0 if fault == "drop" else response.status_code,
                account_id=account.account_id if account else None,
                at=state.now(),
                fault=fault,
                received=g.get("received", 0.0),
                seconds=time.time() - g.get("received", time.time()),
            )
        )
        if g.get("drop"):
            _drop_connection()
            return response
        # timeout_after_commit: the write is done and logged; only the answer is late.
        delay = float(g.get("delay_after") or 0.0)
        if delay > 0:
            time.sleep(delay)
        return response

    @app.errorhandler(SevdeskApiError)
    def sevdesk_error(exc: SevdeskApiError) -> Response:
        return _json(app, error_envelope(exc.status, exc.message, exc.code), exc.status, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if _is_api():
            message = REASONS.get(status, exc.name)
            return _json(app, error_envelope(status, message), status)
        return _json(app, {"error": exc.description}, status)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        # sevDesk answers its own bugs with a 500 envelope; so does the sandbox.
        app.logger.exception("sandbox handler failed")
        if _is_api():
            return _json(app, error_envelope(500, f"Internal Server Error: {exc}"), 500)
        return _json(app, {"error": str(exc)}, 500)

    return app
