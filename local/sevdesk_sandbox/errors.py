"""The error envelope sevDesk answers with (api-facts §10) and the exception that produces it."""

from __future__ import annotations

import uuid
from typing import Any

REASONS = {
    400: "Bad Request",
    401: "Authentication required",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class SevdeskApiError(Exception):
    """Raised by resource handlers; the app turns it into the error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def error_envelope(status: int, message: str, code: int | str | None = None) -> dict[str, Any]:
    return {
        "objects": None,
        "error": {
            "exceptionUUID": str(uuid.uuid4()),
            "message": message,
            "errorCode": 0,
            "code": code,
            "data": [],
            "responseCode": status,
        },
    }


def not_found(object_name: str, object_id: Any, status: int = 404) -> SevdeskApiError:
    return SevdeskApiError(status, f"No Model_{object_name} with the id {object_id} was found", code=151)


def bad_request(message: str) -> SevdeskApiError:
    return SevdeskApiError(400, message)


def unprocessable(message: str, code: int | str | None = None) -> SevdeskApiError:
    return SevdeskApiError(422, message, code=code)


def conflict(message: str) -> SevdeskApiError:
    return SevdeskApiError(409, message)
