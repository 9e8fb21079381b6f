"""Every error leaves the API as {"error": {"code", "message", "details"}} with the right status.

Domain exceptions map to statuses by type, in one place. An error body never carries the caller's input
(it may be a token): `details[].field` is a path of documented field names and list indexes only — a
key the caller made up (an unknown field, a key of a free-form map) shows as `*` —, problems come from
the schema, never from the value, and as a last line of defence anything secret-shaped is masked."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from sevbridge.api.field_names import NAMES
from sevbridge.api.schemas_errors import ErrorBody, ErrorResponse
from sevbridge.common.observability import redact
from sevbridge.domain import errors as domain
from sevbridge.domain.validation import problem_of

STATUS_BY_ERROR: dict[type[domain.DomainError], HTTPStatus] = {
    domain.InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    domain.NotFound: HTTPStatus.NOT_FOUND,
    domain.Conflict: HTTPStatus.CONFLICT,
    domain.Unauthenticated: HTTPStatus.UNAUTHORIZED,
    domain.ConnectionRejected: HTTPStatus.UNPROCESSABLE_ENTITY,
    domain.RateLimited: HTTPStatus.TOO_MANY_REQUESTS,
    domain.UpstreamUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    domain.TemporarilyUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    domain.Gone: HTTPStatus.GONE,
}

# Where a problem is, before any field name: parameters and headers, the body as a whole.
_LOCATIONS = frozenset({"body", "path", "query", "header", "Content-Type", "Authorization", "*", ""})
UNNAMED = "*"
# Every property and parameter name of the OpenAPI document (the API's own vocabulary, so routes added
# later need no list of their own), generated with the document by `make openapi`: built from the document
# here, a container's first 422 built the whole document and imported every route module (issue 10 §4).
_VOCABULARY = NAMES | _LOCATIONS


class ApiError(Exception):
    """Raised by routes for an error answer that is not a domain error (the app maps it with
    `error_response`); routes never return error responses, so their return type stays their success."""

    def __init__(
        self, status: HTTPStatus | int, code: str, message: str, details: Sequence[dict[str, Any]] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, list(details)


def error_response(
    status: HTTPStatus | int,
    code: str,
    message: str,
    details: Sequence[dict[str, Any]] = (),
    *,
    retry_after: float | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=safe_details(details)))
    out: dict[str, str | list[str]] = dict(headers or {})
    if status == HTTPStatus.UNAUTHORIZED:
        out["WWW-Authenticate"] = 'Bearer realm="sevbridge"'
    if retry_after is not None:
        out["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=redact(body.model_dump_json(exclude_none=True)),
        headers=out,
    )


def domain_error_response(exc: domain.DomainError) -> Response[str]:
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), HTTPStatus.UNPROCESSABLE_ENTITY)
    return error_response(status, exc.code, exc.message, exc.details, retry_after=exc.retry_after)


def safe_details(details: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**d, "field": safe_field(d["field"])} if isinstance(d.get("field"), str) else d for d in details]


def safe_field(path: str) -> str:
    """`settings.unit_mapping.h` → `settings.unit_mapping.*`: only names the API documents survive."""
    return ".".join(_safe_part(part) for part in path.split("."))


def _safe_part(part: str | int) -> str:
    if isinstance(part, int) or part.isdigit() or part in _VOCABULARY:
        return str(part)
    return UNNAMED


def _field_path(loc: Sequence[Any]) -> str:
    # Each part is checked on its own, before joining: a key sent by the caller may contain dots.
    parts = [_safe_part(p if isinstance(p, int) else str(p)) for p in loc]
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
    return safe_details(details)


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
