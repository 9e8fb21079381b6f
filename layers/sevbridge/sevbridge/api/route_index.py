"""Every route of the API as (method, path template, module), known without importing a route module.

The api function loads a route module (its schemas, its domain use cases, Powertools' validation of its
parameters) when a request for one of its paths arrives, not on every cold start: a container answering
events never loads the backfill or webhook routes (issue 10 §4). This table says which module serves a
path and which methods a path has (the 405 check answers from it). `tests/unit/test_route_index.py`
fails when it and the routes the modules register differ, or when two modules could answer one request.
"""

from __future__ import annotations

import functools
import re

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

# Module names are relative to sevbridge.api; "app" is the resolver's own routes (the OpenAPI document).
ROUTE_MODULES = ("routes_connections", "routes_transfers", "routes_imports", "routes_backfills", "routes_webhooks")
_TENANT = "/v1/tenants/<tenant_id>"
_ENDPOINTS = "/v1/webhooks/endpoints"
_DELIVERIES = "/v1/webhooks/deliveries"

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/v1/openapi.json", "app"),
    ("GET", "/v1/docs", "app"),
    ("PUT", f"{_TENANT}/connection", "routes_connections"),
    ("GET", f"{_TENANT}/connection", "routes_connections"),
    ("POST", f"{_TENANT}/connection/test", "routes_connections"),
    ("DELETE", _TENANT, "routes_connections"),
    ("POST", f"{_TENANT}/events", "routes_transfers"),
    ("GET", f"{_TENANT}/transfers", "routes_transfers"),
    ("GET", f"{_TENANT}/transfers/<transfer_id>", "routes_transfers"),
    ("POST", f"{_TENANT}/transfers/<transfer_id>/retry", "routes_transfers"),
    ("POST", f"{_TENANT}/transfers/retry", "routes_transfers"),
    ("POST", f"{_TENANT}/transfers/lookup", "routes_transfers"),
    ("POST", f"{_TENANT}/transfers/ensure", "routes_transfers"),
    ("POST", f"{_TENANT}/imports", "routes_imports"),
    ("GET", f"{_TENANT}/imports", "routes_imports"),
    ("GET", f"{_TENANT}/imports/<run_id>", "routes_imports"),
    ("GET", f"{_TENANT}/changes", "routes_imports"),
    ("POST", f"{_TENANT}/backfills", "routes_backfills"),
    ("GET", f"{_TENANT}/backfills", "routes_backfills"),
    ("GET", f"{_TENANT}/backfills/<backfill_id>", "routes_backfills"),
    ("POST", f"{_TENANT}/backfills/<backfill_id>/items", "routes_backfills"),
    ("POST", f"{_TENANT}/backfills/<backfill_id>/start", "routes_backfills"),
    ("POST", f"{_TENANT}/backfills/<backfill_id>/cancel", "routes_backfills"),
    ("POST", f"{_TENANT}/backfills/<backfill_id>/resume", "routes_backfills"),
    ("POST", f"{_TENANT}/backfills/<backfill_id>/retry-failed", "routes_backfills"),
    ("GET", f"{_TENANT}/backfills/<backfill_id>/items", "routes_backfills"),
    ("POST", _ENDPOINTS, "routes_webhooks"),
    ("GET", _ENDPOINTS, "routes_webhooks"),
    ("GET", f"{_ENDPOINTS}/<endpoint_id>", "routes_webhooks"),
    ("PATCH", f"{_ENDPOINTS}/<endpoint_id>", "routes_webhooks"),
    ("DELETE", f"{_ENDPOINTS}/<endpoint_id>", "routes_webhooks"),
    ("POST", f"{_ENDPOINTS}/<endpoint_id>/rotate-secret", "routes_webhooks"),
    ("POST", f"{_ENDPOINTS}/<endpoint_id>/test", "routes_webhooks"),
    ("GET", _DELIVERIES, "routes_webhooks"),
    ("POST", f"{_DELIVERIES}/replay", "routes_webhooks"),
    ("GET", f"{_DELIVERIES}/<delivery_id>", "routes_webhooks"),
    ("POST", f"{_DELIVERIES}/<delivery_id>/replay", "routes_webhooks"),
)


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    # The resolver's own compilation (characters a parameter may hold, trailing "/"), so this table
    # matches exactly the paths the resolver would route.
    pattern: re.Pattern[str] = APIGatewayRestResolver._compile_regex(template)
    return pattern


def matching(path: str) -> list[tuple[str, str, str]]:
    """The routes whose template matches the path. Where several templates match, only the most specific
    count, as for a reader of the document: `/transfers/retry` is not `/transfers/{transfer_id}`."""
    found = [route for route in ROUTES if _pattern(route[1]).match(path)]
    if not found:
        return []
    fixed = max(_fixed_segments(template) for _, template, _ in found)
    return [route for route in found if _fixed_segments(route[1]) == fixed]


def allowed_methods(path: str) -> list[str]:
    """The methods the path supports, e.g. ["GET", "PUT"]; [] for an unknown path."""
    return sorted({method for method, _, _ in matching(path)})


def modules_for(method: str, path: str) -> list[str]:
    """The route modules that can answer this request (one, or none for an unknown route)."""
    return sorted({module for m, template, module in ROUTES if m == method and _pattern(template).match(path)})


def _fixed_segments(template: str) -> int:
    return sum(1 for segment in template.split("/") if segment and not segment.startswith("<"))
