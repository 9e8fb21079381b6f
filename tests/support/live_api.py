"""Serves the real api handler over HTTP inside the test process, through the local stack's own gateway.

The gateway and function runtime are those of `make run`; only AWS is moto's in-process `mock_aws`
(the `aws` fixture), so tools that need a URL (schemathesis, generated clients) test the real code
against a fresh, isolated world."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from local_stack.gateway import LocalApiGateway
from local_stack.provision import ProvisionedStack
from local_stack.runtime import FunctionRuntime


@contextmanager
def serve_api(stack: ProvisionedStack) -> Iterator[str]:
    routes = stack.api_routes
    runtimes = {route.function: FunctionRuntime(stack.functions[route.function]) for route in routes}
    gateway = LocalApiGateway(routes, runtimes, host="127.0.0.1", port=0)
    gateway.start()
    try:
        yield gateway.url
    finally:
        gateway.stop()
