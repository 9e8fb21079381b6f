"""The api function's resolver: routes, auth middleware, error mapping and the OpenAPI document."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import ValidationError

from sevbridge import __version__
from sevbridge.api import routes_backfills, routes_connections, routes_imports, routes_transfers, routes_webhooks
from sevbridge.api.auth import gate
from sevbridge.api.errors import ApiError, as_proxy, domain_error_response, error_response, validation_response
from sevbridge.api.responses import complete_operations
from sevbridge.api.schemas_transfers import EVENT_EXAMPLE, EventsRequestDoc
from sevbridge.common.deadline import invocation_deadline
from sevbridge.common.observability import logger
from sevbridge.domain.errors import DomainError

TITLE = "sevbridge API"
# Of the invocation's time, kept back from sevDesk calls for the DynamoDB/KMS work and the answer after them.
ANSWER_RESERVE_SECONDS = 4.0
DESCRIPTION = (
    "Keeps SaaS platforms' customers' sevDesk accounts in step. Authenticate every call with "
    '`Authorization: Bearer <platform API key>`. Errors are `{"error": {"code", "message", "details"}}`.'
)
SECURITY: list[dict[str, list[str]]] = [{"platformKey": []}]

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(routes_connections.router)
app.include_router(routes_transfers.router)
app.include_router(routes_imports.router)
app.include_router(routes_backfills.router)
app.include_router(routes_webhooks.router)


def openapi_document() -> str:
    # Powertools' OpenAPI models (~70 pydantic classes) are imported here, when the document is asked
    # for, not on every cold start (issue 10 §4).
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from sevbridge.api.openapi_webhooks import document_webhooks

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
    _document_events_body(document)
    complete_operations(document)
    document_webhooks(document)
    return json.dumps(document)


def _document_events_body(document: dict[str, Any]) -> None:
    """The events route validates each event of a batch on its own (to report them one by one), so
    its body schema is added to the document here from the same pydantic models."""
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


def method_not_allowed(event: dict[str, Any]) -> Response[str] | None:
    """405 with Allow when the path is known but not with this method. Checked before routing, because
    Powertools would route GET …/transfers/retry to GET …/transfers/{transfer_id} (and answer 422)."""
    allowed = allowed_methods(str(event.get("path") or ""))
    if not allowed or str(event.get("httpMethod") or "").upper() in allowed:
        return None
    return error_response(
        HTTPStatus.METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not support that method; the Allow header lists the ones it does",
        headers={"Allow": ", ".join(allowed)},
    )


def allowed_methods(path: str) -> list[str]:
    """The methods of the routes whose path pattern matches, e.g. ["GET", "PUT"]. Where several patterns
    match, the most specific one counts, as for a reader of the document: `/transfers/retry` is not
    `/transfers/{transfer_id}`."""
    routes = app._static_routes + app._dynamic_routes  # Powertools keeps no public list of routes
    matching = [route for route in routes if route.rule.match(path)]
    if not matching:
        return []
    fixed = max(_fixed_segments(route.path) for route in matching)
    return sorted({route.method for route in matching if _fixed_segments(route.path) == fixed})


def _fixed_segments(template: str) -> int:
    return sum(1 for segment in template.split("/") if segment and not segment.startswith("<"))


@app.exception_handler(Exception)
def _on_unexpected(exc: Exception) -> Response[str]:
    # Log the type only: exception text can contain request data. The traceback goes to X-Ray/logs.
    logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error; it has been logged")


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point of the api function: the gate (size, auth, body rule), the 405 check, then the resolver."""
    platform, early_answer = gate(event)
    if early_answer is not None:
        return early_answer
    wrong_method = method_not_allowed(event)
    if wrong_method is not None:
        return as_proxy(wrong_method)
    if platform is not None:
        app.append_context(platform=platform)
    # Slow sevDesk calls (the token test) stop in time for our own 503 before API Gateway's 504.
    with invocation_deadline(context, reserve_seconds=ANSWER_RESERVE_SECONDS):
        return app.resolve(event, context)
