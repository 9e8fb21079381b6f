"""The api's route table (sevbridge/api/route_index.py) against the routes the modules really register.

The api loads a route module when a request for one of its paths arrives; that is only right while the
table names every route with its module, and while no request could be answered by two modules (then the
route chosen would depend on which module a container happened to load first)."""

from __future__ import annotations

import importlib
from itertools import combinations

import pytest

from sevbridge.api import route_index
from sevbridge.api.route_index import ROUTE_MODULES, ROUTES, allowed_methods, modules_for

pytestmark = pytest.mark.unit


def _registered() -> set[tuple[str, str, str]]:
    found = set()
    for name in ROUTE_MODULES:
        router = importlib.import_module(f"sevbridge.api.{name}").router
        for key in router._routes:  # Powertools keeps (rule, methods, …) as the key of each route
            rule, methods = key[0], key[1]
            found.update((method.upper(), rule, name) for method in methods)
    from sevbridge.api.app import app

    for route in app._static_routes + app._dynamic_routes:
        if route.path in {"/v1/openapi.json", "/v1/docs"}:
            found.add((route.method, route.path, "app"))
    return found


def test_the_table_names_every_route_with_its_module_and_nothing_else() -> None:
    assert len(ROUTES) == len(set(ROUTES))
    assert set(ROUTES) == _registered()


def _overlap(a: str, b: str) -> bool:
    """Whether one concrete path can match both templates (a parameter matches any single segment)."""
    left, right = a.rstrip("/").split("/"), b.rstrip("/").split("/")
    return len(left) == len(right) and all(
        x == y or x.startswith("<") or y.startswith("<") for x, y in zip(left, right, strict=True)
    )


def test_no_request_can_be_answered_by_two_modules() -> None:
    clashes = [
        (first, second)
        for first, second in combinations(ROUTES, 2)
        if first[0] == second[0] and first[2] != second[2] and _overlap(first[1], second[1])
    ]
    assert clashes == []


def test_the_overlap_check_sees_a_clash() -> None:
    # The check above is not vacuous: these two would clash if they were in different modules.
    assert _overlap("/v1/tenants/<tenant_id>/transfers/<transfer_id>", "/v1/tenants/<tenant_id>/transfers/retry")
    assert not _overlap("/v1/tenants/<tenant_id>", "/v1/tenants/<tenant_id>/events")


def test_a_request_needs_exactly_its_own_module() -> None:
    assert modules_for("POST", "/v1/tenants/school-42/events") == ["routes_transfers"]
    assert modules_for("DELETE", "/v1/tenants/school-42") == ["routes_connections"]
    assert modules_for("GET", "/v1/webhooks/deliveries/dlv_1") == ["routes_webhooks"]
    assert modules_for("POST", "/v1/tenants/school-42/events/") == ["routes_transfers"]  # as the resolver
    assert modules_for("GET", "/v1/tenants/school-42/events") == []
    assert modules_for("GET", "/v1/nothing") == []


def test_allowed_methods_prefer_the_most_specific_template() -> None:
    assert allowed_methods("/v1/tenants/t/transfers/retry") == ["POST"]  # not GET of /transfers/{id}
    assert allowed_methods("/v1/tenants/t/connection") == ["GET", "PUT"]
    assert allowed_methods("/v1/webhooks/endpoints/ep_1") == ["DELETE", "GET", "PATCH"]
    assert allowed_methods("/v1/unknown") == []


def test_templates_compile_as_the_resolver_compiles_them() -> None:
    # A path parameter is one segment: a slash inside it never matches.
    assert route_index._pattern("/v1/tenants/<tenant_id>").match("/v1/tenants/a/b") is None
