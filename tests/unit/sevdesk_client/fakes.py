"""A scripted fake sevDesk for httpx.MockTransport: answers from a script, records every request."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

TOKEN = "0123456789abcdef0123456789abcdef"
BASE_URL = "https://my.sevdesk.de/api/v1"


def ok(objects: Any = None, status: int = 200, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"objects": objects, **extra})


def sevdesk_error(
    status: int,
    message: str | None = "Something went wrong",
    *,
    code: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The envelope seen live (api-facts §10)."""
    error = {
        "exceptionUUID": "5f0c6b1e-0000-4000-8000-000000000001",
        "message": message,
        "errorCode": 0,
        "code": code,
        "data": [],
        "responseCode": status,
    }
    return httpx.Response(status, json={"objects": None, "error": error}, headers=headers)


class Raise:
    """Script entry: raise this httpx transport error instead of answering."""

    def __init__(self, exc_type: type[httpx.TransportError]) -> None:
        self.exc_type = exc_type


Reply = httpx.Response | Raise | Callable[[httpx.Request], httpx.Response]


class FakeSevdesk:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._script: deque[Reply] = deque()
        self.default: Reply | None = None

    def reply(self, *replies: Reply) -> FakeSevdesk:
        self._script.extend(replies)
        return self

    def always(self, reply: Reply) -> FakeSevdesk:
        self.default = reply
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self._script.popleft() if self._script else self.default
        if reply is None:
            raise AssertionError(f"unscripted request: {request.method} {request.url.path}")
        if isinstance(reply, Raise):
            raise reply.exc_type("simulated failure", request=request)
        if callable(reply):
            return reply(request)
        return reply
