"""API Gateway REST API (Lambda proxy integration, payload format 1.0), both directions.

`rest_event` builds the event API Gateway would send for an HTTP request; `proxy_response` turns
the handler's proxy result back into an HTTP response, with API Gateway's rules and its error
answers. The local gateway uses both; tests use `rest_event` to call the api handler directly.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

# The api function's route in template.yaml; the default resource for events built by tests.
DEFAULT_RESOURCE = "/v1/{proxy+}"
LOCAL_API_ID = "local"

Pairs = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


# --- routes --------------------------------------------------------------------------------------


def match_resource(resource: str, path: str) -> dict[str, str] | None:
    """Path parameters if `path` matches the resource template (`/v1/{proxy+}`, `/a/{id}`), else None."""
    if _pattern(resource).fullmatch(path) is None:
        return None
    return _params(resource, path)


def _pattern(resource: str) -> re.Pattern[str]:
    parts = []
    for segment in resource.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append("(?:.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append("(?:[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts)) if parts != [""] else re.compile("/")


def _params(resource: str, path: str) -> dict[str, str]:
    params: dict[str, str] = {}
    path_segments = path.strip("/").split("/")
    for index, segment in enumerate(resource.strip("/").split("/")):
        if segment.endswith("+}"):
            params[segment[1:-2]] = "/".join(path_segments[index:])
            break
        if segment.startswith("{"):
            params[segment[1:-1]] = path_segments[index]
    return params


def route_specificity(resource: str) -> tuple[int, ...]:
    """Sort key giving API Gateway's precedence: segment by segment, a fixed name beats a
    {parameter}, which beats a greedy {proxy+}."""
    return tuple(
        2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0
        for segment in resource.strip("/").split("/")
    )


# --- request -> event ----------------------------------------------------------------------------


def rest_event(
    method: str,
    path: str,
    *,
    headers: Pairs | None = None,
    query: Pairs | str | None = None,
    body: bytes | str | None = None,
    resource: str = DEFAULT_RESOURCE,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST proxy event (format 1.0) API Gateway sends for this request."""
    header_pairs = _pairs(headers)
    lower_names = {name.lower() for name, _ in header_pairs}
    for name, value in (("X-Forwarded-For", source_ip), ("X-Forwarded-Proto", "http")):
        if name.lower() not in lower_names:
            header_pairs.append((name, value))
    query_pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else _pairs(query)
    event_body, is_base64 = _event_body(body)
    now = now or datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    path_parameters = match_resource(resource, path)
    user_agent = next((value for name, value in header_pairs if name.lower() == "user-agent"), None)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": _single(header_pairs),
        "multiValueHeaders": _multi(header_pairs),
        "queryStringParameters": _single(query_pairs),
        "multiValueQueryStringParameters": _multi(query_pairs),
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": LOCAL_API_ID,
            "domainName": next((v for n, v in header_pairs if n.lower() == "host"), "localhost"),
            "extendedRequestId": request_id,
            "httpMethod": method.upper(),
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": LOCAL_API_ID,
            "resourcePath": resource,
            "stage": stage,
        },
        "body": event_body,
        "isBase64Encoded": is_base64,
    }


def _pairs(values: Pairs | None) -> list[tuple[str, str]]:
    if values is None:
        return []
    items = values.items() if isinstance(values, Mapping) else values
    return [(str(name), str(value)) for name, value in items]


def _single(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    # API Gateway keeps the last value of a repeated name in the single-value map.
    return dict(pairs) or None


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]] | None:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped or None


def _event_body(body: bytes | str | None) -> tuple[str | None, bool]:
    if body is None or body in (b"", ""):
        return None, False
    if isinstance(body, str):
        return body, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        # Only configured binary media types arrive base64-encoded on AWS; we have none, but a
        # body that is not text must not be mangled locally either.
        return base64.b64encode(body).decode("ascii"), True


# --- proxy result -> response --------------------------------------------------------------------


def proxy_response(result: Any) -> HttpResponse:
    """API Gateway's mapping of a Lambda proxy result; a malformed result becomes its 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return gateway_error(502, "internal_error", "Internal server error")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for name, value in (result.get("headers") or {}).items():
        # A name present in both maps: API Gateway keeps only the multi-value entries.
        if name not in multi:
            headers.append((name, str(value)))
    for name, values in multi.items():
        headers.extend((name, str(value)) for value in values)
    body = result.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else str(body).encode()
    except (binascii.Error, ValueError):
        return gateway_error(502, "internal_error", "Internal server error")
    return HttpResponse(status=result["statusCode"], headers=headers, body=raw)


def gateway_error(status: int, code: str, message: str) -> HttpResponse:
    """What API Gateway answers itself, shaped by template.yaml's GatewayResponses."""
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    return HttpResponse(status=status, headers=[("Content-Type", "application/json")], body=body)
