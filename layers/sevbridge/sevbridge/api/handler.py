"""Entry point of the api function: the gate (size, auth, body rule), the 405 check, then the resolver.

This module is what a cold start imports. The resolver with Powertools' request validation
(`sevbridge.api.app`) and the route module a request needs are imported by the first request that
reaches a route; answers given before that (401, 405, 413, 415, malformed JSON) never load them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from sevbridge.api import route_index
from sevbridge.api.auth import gate
from sevbridge.api.errors import as_proxy, error_response
from sevbridge.common.deadline import invocation_deadline

# Of the invocation's time, kept back from sevDesk calls for the DynamoDB/KMS work and the answer after them.
ANSWER_RESERVE_SECONDS = 4.0


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    platform, early_answer = gate(event)
    if early_answer is not None:
        return early_answer
    wrong_method = method_not_allowed(event)
    if wrong_method is not None:
        return as_proxy(wrong_method)
    from sevbridge.api.app import resolver_for

    app = resolver_for(str(event.get("httpMethod") or "").upper(), str(event.get("path") or ""))
    if platform is not None:
        app.append_context(platform=platform)
    # Slow sevDesk calls (the token test) stop in time for our own 503 before API Gateway's 504.
    with invocation_deadline(context, reserve_seconds=ANSWER_RESERVE_SECONDS):
        return app.resolve(event, context)


def method_not_allowed(event: dict[str, Any]) -> Response[str] | None:
    """405 with Allow when the path is known but not with this method. Checked before routing, because
    Powertools would route GET …/transfers/retry to GET …/transfers/{transfer_id} (and answer 422)."""
    allowed = route_index.allowed_methods(str(event.get("path") or ""))
    if not allowed or str(event.get("httpMethod") or "").upper() in allowed:
        return None
    return error_response(
        HTTPStatus.METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not support that method; the Allow header lists the ones it does",
        headers={"Allow": ", ".join(allowed)},
    )
