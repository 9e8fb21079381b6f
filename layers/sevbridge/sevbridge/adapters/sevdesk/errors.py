"""Turn sevDesk's error answers and httpx failures into the domain's typed errors.

sevDesk's error envelope (api-facts §2, §10) is
`{"objects": null, "error": {"message", "code", "exceptionUUID", "errorCode", "data", "responseCode"}}`
with every field optional and `code` an int, a string or null. Bodies may also be HTML from a
proxy or empty. Only `error.message` is shown: it is sevDesk's own text for humans.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskError,
    SevdeskNetworkError,
    SevdeskNotFound,
    SevdeskRateLimited,
    SevdeskServerError,
    SevdeskValidationError,
)

MAX_MESSAGE_CHARS = 500
# 404 is not the only "gone": GET-by-id documents 400 "not found", seen with these codes.
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "151"})
# Failures where the request provably never reached sevDesk, so resending cannot duplicate a write.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures on our side that a retry cannot fix.
LOCAL_FAILURES = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

_NETWORK_TEXT: tuple[tuple[type[httpx.TransportError], str], ...] = (
    (httpx.ConnectTimeout, "timed out connecting to sevDesk"),
    (httpx.ConnectError, "could not connect to sevDesk"),
    (httpx.PoolTimeout, "no free connection to sevDesk"),
    (httpx.ReadTimeout, "timed out waiting for sevDesk's answer"),
    (httpx.WriteTimeout, "timed out sending the request to sevDesk"),
    (httpx.RemoteProtocolError, "sevDesk closed the connection unexpectedly"),
)


@dataclass(frozen=True)
class ErrorEnvelope:
    message: str | None = None
    code: str | None = None
    exception_uuid: str | None = None
    is_json: bool = False


def safe_path(path: str) -> str:
    """The path without query or fragment: filter values may hold personal data or secrets."""
    return path.split("?", 1)[0].split("#", 1)[0]


def clean_message(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def parse_envelope(response: httpx.Response) -> ErrorEnvelope:
    try:
        body: Any = json.loads(response.content) if response.content else None
    except ValueError:
        return ErrorEnvelope()
    if not isinstance(body, dict):
        return ErrorEnvelope(is_json=body is not None)
    error = body.get("error")
    # Some answers put the message at the top level instead of inside "error".
    fields: dict[str, Any] = error if isinstance(error, dict) else body
    message = fields.get("message")
    if message is not None and not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False, default=str)
    code = fields.get("code")
    uuid = fields.get("exceptionUUID")
    return ErrorEnvelope(
        message=message or None,
        code=None if code is None or code == "" else str(code),
        exception_uuid=str(uuid) if uuid else None,
        is_json=True,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP-date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_from_response(
    response: httpx.Response, *, method: str, path: str, secrets: Iterable[str] = ()
) -> SevdeskError:
    status = response.status_code
    envelope = parse_envelope(response)
    if envelope.message:
        message = clean_message(envelope.message, secrets)
    else:
        shape = "an empty body" if not response.content else "no error message"
        if response.content and not envelope.is_json:
            shape = "a non-JSON body"
        message = f"sevDesk answered {status} {response.reason_phrase} with {shape}"
    kw: dict[str, Any] = {
        "status": status,
        "code": envelope.code,
        "exception_uuid": envelope.exception_uuid,
        "method": method,
        "path": safe_path(path),
    }
    if status in (401, 403):
        return SevdeskAuthError(message, **kw)
    if status == 404 or (status == 400 and envelope.code in NOT_FOUND_CODES):
        return SevdeskNotFound(message, **kw)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return SevdeskRateLimited(message, retry_after=retry_after, **kw)
    if 400 <= status < 500:
        return SevdeskValidationError(message, **kw)
    # 5xx, and anything unexpected (3xx: we never follow redirects with the token attached).
    return SevdeskServerError(message, **kw)


def network_error(exc: httpx.TransportError, *, method: str, path: str) -> SevdeskNetworkError:
    # Only our own fixed text: httpx's message could in theory carry the URL and its query.
    text = next((t for cls, t in _NETWORK_TEXT if isinstance(exc, cls)), "network error talking to sevDesk")
    return SevdeskNetworkError(f"{text} ({type(exc).__name__})", method=method, path=safe_path(path))


def mark_outcome_unknown(exc: SevdeskError) -> None:
    """Flag a failed write whose effect in sevDesk is unknown; str(exc) then says so too."""
    exc.outcome_unknown = True
