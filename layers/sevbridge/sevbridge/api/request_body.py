"""The one rule for request bodies, applied by the gate to every request before any route runs.

A request that carries a body must declare `Content-Type: application/json` (charset, if given,
UTF-8), and the body must be UTF-8 text holding one well-formed JSON value (no NaN/Infinity, numbers
Python can hold, nesting within reason). Anything else is answered here with 415 or 400, so no route —
including routes added later — ever sees form fields, multipart parts or undecodable bytes: those used
to reach Powertools' form parser (which echoed input keys) or crash it (500).

A request without a body passes untouched: whether a route needs one is the route's business.
"""

from __future__ import annotations

import base64
import binascii
import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from sevbridge.api.errors import error_response

JSON_MEDIA_TYPE = "application/json"
CONTENT_TYPE_FIELD = "header.Content-Type"


class BodyRefused(Exception):
    def __init__(self, response: Response[str]) -> None:
        super().__init__(response.status_code)
        self.response = response


def header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def body_bytes(event: dict[str, Any]) -> bytes:
    """The body as sent; API Gateway base64-encodes what it does not treat as text."""
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BodyRefused(_malformed_body("is not valid base64")) from None
    # "surrogatepass": a lone surrogate from an escaped event survives to the UTF-8 check below.
    return str(body).encode("utf-8", "surrogatepass")


def check_body(event: dict[str, Any], raw: bytes) -> None:
    """Raises BodyRefused unless the body is JSON as described above; on success the event's body is
    plain text (isBase64Encoded false), so routes and Powertools read it without decoding."""
    if not raw:
        return
    _check_media_type(header(event, "Content-Type"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyRefused(_malformed_body(f"is not valid UTF-8 (byte {exc.start})")) from None
    _check_json(text)
    event["body"] = text
    event["isBase64Encoded"] = False
    _normalise_content_type(event)


def _check_media_type(content_type: str | None) -> None:
    media_type, _, params = (content_type or "").partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media_type.strip().lower() != JSON_MEDIA_TYPE or charset not in (None, "utf-8", "utf8"):
        # The header's value is never repeated: it is the caller's input, not ours.
        raise BodyRefused(
            error_response(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "request bodies must be JSON: send them with Content-Type: application/json (UTF-8)",
                [{"field": CONTENT_TYPE_FIELD, "problem": "must be application/json"}],
            )
        )


def _normalise_content_type(event: dict[str, Any]) -> None:
    # Media types are case-insensitive, but Powertools compares the header literally.
    for key in ("headers", "multiValueHeaders"):
        for name in list(event.get(key) or {}):
            if name.lower() == "content-type":
                event[key][name] = [JSON_MEDIA_TYPE] if key == "multiValueHeaders" else JSON_MEDIA_TYPE


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_json(text: str) -> None:
    try:
        json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BodyRefused(_malformed_json(f"not valid JSON at position {exc.pos}: {exc.msg}")) from None
    except RecursionError:
        raise BodyRefused(_malformed_json("nested too deeply")) from None
    except ValueError as exc:
        # NaN/Infinity, or an integer longer than Python's digit limit: neither is a JSON value we keep.
        problem = str(exc) if "JSON number" in str(exc) else "holds a number too long to read"
        raise BodyRefused(_malformed_json(problem)) from None


def _malformed_json(problem: str) -> Response[str]:
    return error_response(
        HTTPStatus.BAD_REQUEST,
        "malformed_json",
        f"request body is not valid JSON: {problem}",
        [{"field": "body", "problem": problem}],
    )


def _malformed_body(problem: str) -> Response[str]:
    return error_response(
        HTTPStatus.BAD_REQUEST,
        "malformed_body",
        f"request body {problem}",
        [{"field": "body", "problem": problem}],
    )
