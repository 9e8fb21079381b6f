"""The local API Gateway: an HTTP server that calls the handlers behind the template's Api events."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from local_stack.apigw import gateway_error, match_resource, proxy_response, rest_event, route_specificity

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from local_stack.apigw import HttpResponse
    from local_stack.provision import ApiRoute
    from local_stack.runtime import FunctionRuntime

log = logging.getLogger("local_stack.api")


class LocalApiGateway:
    def __init__(
        self,
        routes: list[ApiRoute],
        runtimes: dict[str, FunctionRuntime],
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
    ) -> None:
        self._routes = sorted(routes, key=lambda route: route_specificity(route.path))
        self._runtimes = runtimes
        self._server: BaseWSGIServer = make_server(host, port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        response = self._handle(request)
        log.info(
            "%s %s -> %d (%d ms)",
            request.method,
            request.full_path.rstrip("?"),
            response.status,
            (time.monotonic() - started) * 1000,
        )
        wsgi_response = Response(response.body, status=response.status)
        wsgi_response.headers.clear()
        for name, value in response.headers:
            wsgi_response.headers.add(name, value)
        return wsgi_response(environ, start_response)

    def _handle(self, request: Request) -> HttpResponse:
        route = self._route_for(request.path, request.method)
        if route is None:
            # API Gateway answers unknown routes itself (template: MISSING_AUTHENTICATION_TOKEN -> 404).
            return gateway_error(404, "not_found", "no such route")
        event = rest_event(
            request.method,
            request.path,
            headers=list(request.headers.items()),
            query=list(request.args.items(multi=True)),
            body=request.get_data(),
            resource=route.path,
            stage=route.stage,
            source_ip=request.remote_addr or "127.0.0.1",
        )
        try:
            result: Any = self._runtimes[route.function].invoke(event)
        except Exception:
            # On AWS a crashed integration is a 502 and the stack trace goes to the function's log.
            log.exception("%s raised", route.function)
            return gateway_error(502, "internal_error", "Internal server error")
        return proxy_response(result)

    def _route_for(self, path: str, method: str) -> ApiRoute | None:
        for route in self._routes:
            if route.method in ("ANY", method.upper()) and match_resource(route.path, path) is not None:
                return route
        return None
