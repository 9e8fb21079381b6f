"""Response declarations shared by every route, so the OpenAPI document says what the code answers.

A route declares only its success answers (`ok(...)`), optionally a route-specific wording for an error
status (`errors={409: "..."}`), and links to follow-up operations. The error answers every route can
give — the gate's (400, 401, 413, 415), validation (422), throttling (429), outages (503), 500 — are
added to every operation of the document by `complete_operations`, with the one error body and the
headers that come with them. A route added later is documented the same way without doing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from sevbridge.api.schemas_errors import ErrorResponse

JSON = "application/json"
ERROR_SCHEMA = "ErrorResponse"

# Status → what it means on any route. 404 only where the path names a resource, 409 only on writes.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not UTF-8 or not valid JSON (`malformed_body`, `malformed_json`)",
    401: "Missing or unknown platform API key (`unauthenticated`)",
    404: "No such tenant or resource for this platform (`not_found`); another platform's tenant looks the same",
    409: "Conflicts with the current state (`conflict`, `concurrent_update`)",
    413: "Body larger than the limit (`body_too_large`, MAX_BODY_BYTES, 1 MiB by default)",
    415: "A body was sent without `Content-Type: application/json` (`unsupported_media_type`)",
    422: "Invalid input (`invalid_input`): `details` names each field (documented names only) and its problem",
    429: "Too many requests (`rate_limited`); wait `Retry-After` seconds",
    500: "Internal error (`internal_error`); it has been logged",
    503: "sevDesk or one of sevbridge's own dependencies is unavailable; nothing was lost, retry after "
    "`Retry-After` seconds",
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# Link parameter: the tenant of the request the link starts from.
SAME_TENANT = "$request.path.tenant_id"

_RETRY_AFTER = {
    "description": "Seconds to wait before sending the same request again",
    "schema": {"type": "integer", "minimum": 1},
}
ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {"Retry-After": _RETRY_AFTER},
    503: {"Retry-After": {**_RETRY_AFTER, "required": False}},
}


def ok(
    status: int,
    description: str,
    model: type[BaseModel],
    *,
    links: Mapping[str, Any] | None = None,
    errors: Mapping[int, str] | None = None,
) -> dict[int, Any]:
    """`responses=` of a route with one success answer; combine several with `|`."""
    declared: dict[int, Any] = {status: {"description": description, "content": {JSON: {"model": model}}}}
    if links:
        declared[status]["links"] = dict(links)
    for error_status, wording in (errors or {}).items():
        declared[error_status] = {"description": wording, "content": {JSON: {"model": ErrorResponse}}}
    return declared


def link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link: `parameters` are runtime expressions such as `$request.path.tenant_id`."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


def complete_operations(document: dict[str, Any]) -> None:
    """Adds the shared error answers to every operation and replaces Powertools' own 422 body
    (`{detail}`, which the API never sends) with the error body."""
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_DESCRIPTIONS.items():
                if (status == 404 and "{" not in path) or (status == 409 and method not in WRITE_METHODS):
                    continue
                declared = responses.get(str(status)) or responses.get(status) or {}
                responses.pop(status, None)
                wording = declared.get("description")
                if not wording or wording == "Validation Error":  # Powertools' default 422 wording
                    wording = description
                answer: dict[str, Any] = {"description": wording, "content": {JSON: {"schema": ref}}}
                if status in ERROR_HEADERS:
                    answer["headers"] = ERROR_HEADERS[status]
                responses[str(status)] = answer
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = error_schema
    _drop_unreferenced(document)


def _drop_unreferenced(document: dict[str, Any]) -> None:
    """Powertools adds schemas for bodies the API never sends (`HTTPValidationError`, ...); a client
    generator would turn them into dead types."""
    schemas = document["components"]["schemas"]
    prefix = "#/components/schemas/"
    reached: set[str] = set()
    pending: list[Any] = [document["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in reached:
                reached.add(ref[len(prefix) :])
                pending.append(schemas.get(ref[len(prefix) :]))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    for name in set(schemas) - reached:
        del schemas[name]
