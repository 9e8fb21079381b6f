"""Every error leaves the API as {"error": {"code", "message", "details"}} with the right status.

Domain exceptions map to statuses by type, in one place. Validation errors name each field and
problem but never echo the input (it may be a token)."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from sevbridge.api.schemas import ErrorBody, ErrorResponse
from sevbridge.domain import errors as domain
from sevbridge.domain.validation import problem_of

STATUS_BY_ERROR: dict[type[domain.DomainError], HTTPStatus] = {
    domain.InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    domain.NotFound: HTTPStatus.NOT_FOUND,
    domain.Conflict: HTTPStatus.CONFLICT,
    domain.Unauthenticated: HTTPStatus.UNAUTHORIZED,
    domain.ConnectionRejected: HTTPStatus.UNPROCESSABLE_ENTITY,
    domain.UpstreamUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    domain.TemporarilyUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    domain.Gone: HTTPStatus.GONE,
}


def error_response(
    status: HTTPStatus | int, code: str, message: str, details: Sequence[dict[str, Any]] = ()
) -> Response[str]:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=list(details)))
    headers: dict[str, str | list[str]] = {}
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="sevbridge"'
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers=headers,
    )


def domain_error_response(exc: domain.DomainError) -> Response[str]:
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), HTTPStatus.UNPROCESSABLE_ENTITY)
    return error_response(status, exc.code, exc.message, exc.details)


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        where, parts = parts[0], parts[1:]
        if where != "body" or not parts:
            return ".".join([where, *parts]) if parts else where
    return ".".join(parts)


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        err_type = str(err.get("type", ""))
        problem = problem_of(err)
        field = "body" if err_type == "json_invalid" else _field_path(err.get("loc", ()))
        details.append({"field": field, "problem": problem, "type": err_type})
    return details


def validation_response(errors: Sequence[Any]) -> Response[str]:
    details = validation_details(errors)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(HTTPStatus.BAD_REQUEST, "malformed_json", "request body is not valid JSON", details)
    summary = "; ".join(f"{d['field'] or 'body'}: {d['problem']}" for d in details)
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_input", f"invalid request: {summary}", details)


def as_proxy(response: Response[str]) -> dict[str, Any]:
    """An API Gateway proxy result for answers given before the resolver runs."""
    headers = {"Content-Type": response.content_type or content_types.APPLICATION_JSON}
    headers.update({k: v if isinstance(v, str) else ",".join(v) for k, v in response.headers.items()})
    return {
        "statusCode": response.status_code,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "body": response.body,
        "isBase64Encoded": False,
    }
