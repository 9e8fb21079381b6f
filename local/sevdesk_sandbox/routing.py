"""How resource modules declare their endpoints. Each module owns a `ResourceRoutes`; the app
registers them under /api/v1, runs each handler under the state lock and JSON-encodes its reply.
Adding a sevDesk resource = one module with a `routes` object, listed in resources/__init__.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from .errors import bad_request
from .state import Account, SandboxState

Reply = tuple[Any, int]
Handler = Callable[..., Reply]


@dataclass
class RequestContext:
    state: SandboxState
    account: Account
    args: MultiDict[str, str]
    body: Any

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise bad_request("The request body must be a JSON object")
        return self.body

    def arg(self, name: str) -> str | None:
        value = self.args.get(name)
        return value if value not in (None, "") else None


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    handler: Handler


class ResourceRoutes:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def _add(self, method: str, rule: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.routes.append(Route(rule, method, handler))
            return handler

        return decorate

    def get(self, rule: str) -> Callable[[Handler], Handler]:
        return self._add("GET", rule)

    def post(self, rule: str) -> Callable[[Handler], Handler]:
        return self._add("POST", rule)

    def put(self, rule: str) -> Callable[[Handler], Handler]:
        return self._add("PUT", rule)

    def delete(self, rule: str) -> Callable[[Handler], Handler]:
        return self._add("DELETE", rule)
