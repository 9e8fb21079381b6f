"""The api function's resolver: Powertools' REST resolver with request validation, the error mapping and
the OpenAPI document. Imported on the first request that reaches a route (`sevbridge.api.handler`), and
each route module is included when a request for one of its paths arrives (`route_index.py`)."""

from __future__ import annotations

import importlib
import json
import threading
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import ValidationError

from sevbridge import __version__
from sevbridge.api import route_index
from sevbridge.api.errors import ApiError, domain_error_response, error_response, validation_response
from sevbridge.common.observability import logger
from sevbridge.domain.errors import DomainError

TITLE = "sevbridge API"
DESCRIPTION = (
    "Keeps SaaS platforms' customers' sevDesk accounts in step. Authenticate every call with "
    '`Authorization: Bearer <platform API key>`. Errors are `{"error": {"code", "message", "details"}}`.'
)
SECURITY: list[dict[str, list[str]]] = [{"platformKey": []}]

app = APIGatewayRestResolver(enable_validation=True)
_included: set[str] = set()
_including = threading.Lock()  # the local stack may serve requests on several threads


def include_routes(modules: list[str] | tuple[str, ...]) -> APIGatewayRestResolver:
    """The resolver with these route modules' routes registered (each module once, on first need)."""
    with _including:
        for name in modules:
            if name not in _included and name in route_index.ROUTE_MODULES:
                app.include_router(importlib.import_module(f"sevbridge.api.{name}").router)
                _included.add(name)
    return app


def resolver_for(method: str, path: str) -> APIGatewayRestResolver:
    """The resolver, ready for this request: its route module is loaded, no other one is needed. Two
    modules never serve the same request (tests/unit/test_route_index.py), so the route chosen is the
    one a resolver with every route would choose."""
    return include_routes(route_index.modules_for(method, path))


def openapi_document() -> str:
    # Powertools' OpenAPI models (~70 pydantic classes) are imported here, when the document is asked
    # for, not on every cold start (issue 10 §4).
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from sevbridge.api.openapi_webhooks import document_webhooks
    from sevbridge.api.responses import complete_operations

    include_routes(route_index.ROUTE_MODULES)

    security_schemes: dict[str, Any] = {
        "platformKey": HTTPBearer(description="Platform API key from `sevbridge platforms create`")
    }
    document = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=__version__,
            description=DESCRIPTION,
            security_schemes=security_schemes,
            security=SECURITY,
        )
    )
    _in_route_order(document)
    _document_events_body(document)
    complete_operations(document)
    document_webhooks(document)
    return json.dumps(document)


def _in_route_order(document: dict[str, Any]) -> None:
    # Route modules are included in the order requests needed them; the document lists paths in the
    # order of the route table, whichever request came first.
    order = {template.replace("<", "{").replace(">", "}"): i for i, (_, template, _) in enumerate(route_index.ROUTES)}
    paths = document.get("paths", {})
    document["paths"] = dict(sorted(paths.items(), key=lambda item: order.get(item[0], len(order))))


def _document_events_body(document: dict[str, Any]) -> None:
    """The events route validates each event of a batch on its own (to report them one by one), so
    its body schema is added to the document here from the same pydantic models."""
    from sevbridge.api.schemas_transfers import EVENT_EXAMPLE, EventsRequestDoc

    schema = EventsRequestDoc.model_json_schema(ref_template="#/components/schemas/{model}")
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    # The ensure route takes the same body ("transfer what is not transferred yet").
    for path in ("/v1/tenants/{tenant_id}/events", "/v1/tenants/{tenant_id}/transfers/ensure"):
        document["paths"][path]["post"]["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": schema["properties"]["body"],
                    "examples": {
                        "invoice": {"summary": "A sent invoice", "value": EVENT_EXAMPLE},
                        "batch": {"summary": "A batch of one", "value": {"events": [EVENT_EXAMPLE]}},
                    },
                }
            },
        }


@app.get("/v1/openapi.json", include_in_schema=False)
def get_openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@app.get("/v1/docs", include_in_schema=False)
def get_docs() -> Response[str]:
    # Powertools' own Swagger page renders its internal schema; ours adds the events body, so the
    # page is built from the same document as /v1/openapi.json (assets are bundled with Powertools).
    from sevbridge.api.swagger import swagger_page

    return Response(status_code=200, content_type="text/html", body=swagger_page(openapi_document()))


@app.exception_handler(RequestValidationError)
def _on_request_validation(exc: RequestValidationError) -> Response[str]:
    return validation_response(exc.errors())


@app.exception_handler(ValidationError)
def _on_model_validation(exc: ValidationError) -> Response[str]:
    # Raised when merged values fail (e.g. settings patch over stored settings); never echo inputs.
    return validation_response(exc.errors(include_url=False, include_input=False))


@app.exception_handler(RecursionError)
def _on_too_deep(exc: RecursionError) -> Response[str]:
    return error_response(
        HTTPStatus.BAD_REQUEST,
        "malformed_json",
        "request body is nested too deeply",
        [{"field": "body", "problem": "nested too deeply"}],
    )


@app.exception_handler(DomainError)
def _on_domain_error(exc: DomainError) -> Response[str]:
    return domain_error_response(exc)


@app.exception_handler(ApiError)
def _on_api_error(exc: ApiError) -> Response[str]:
    return error_response(exc.status, exc.code, exc.message, exc.details)


@app.not_found
def _on_not_found(exc: Exception) -> Response[str]:
    # Neither the method nor the path is repeated: both are the caller's input.
    return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "no such route; see /v1/openapi.json")


@app.exception_handler(Exception)
def _on_unexpected(exc: Exception) -> Response[str]:
    # Log the type only: exception text can contain request data. The traceback goes to X-Ray/logs.
    logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error; it has been logged")
