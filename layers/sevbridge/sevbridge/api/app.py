"""The api function's resolver: routes, auth middleware, error mapping and the OpenAPI document."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from pydantic import ValidationError

from sevbridge import __version__
from sevbridge.api import routes_connections, routes_imports, routes_transfers
from sevbridge.api.auth import gate
from sevbridge.api.errors import domain_error_response, error_response, validation_response
from sevbridge.api.schemas_transfers import EventsRequestDoc
from sevbridge.api.swagger import swagger_page
from sevbridge.common.observability import logger
from sevbridge.domain.errors import DomainError

TITLE = "sevbridge API"
DESCRIPTION = (
    "Keeps SaaS platforms' customers' sevDesk accounts in step. Authenticate every call with "
    '`Authorization: Bearer <platform API key>`. Errors are `{"error": {"code", "message", "details"}}`.'
)
SECURITY_SCHEMES: dict[str, Any] = {
    "platformKey": HTTPBearer(description="Platform API key from `sevbridge platforms create`")
}
SECURITY: list[dict[str, list[str]]] = [{"platformKey": []}]

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(routes_connections.router)
app.include_router(routes_transfers.router)
app.include_router(routes_imports.router)
app.configure_openapi(
    title=TITLE,
    version=__version__,
    description=DESCRIPTION,
    security_schemes=SECURITY_SCHEMES,
    security=SECURITY,
)


def openapi_document() -> str:
    document = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=__version__,
            description=DESCRIPTION,
            security_schemes=SECURITY_SCHEMES,
            security=SECURITY,
        )
    )
    _document_events_body(document)
    return json.dumps(document)


def _document_events_body(document: dict[str, Any]) -> None:
    """The events route validates each event of a batch on its own (to report them one by one), so
    its body schema is added to the document here from the same pydantic models."""
    schema = EventsRequestDoc.model_json_schema(ref_template="#/components/schemas/{model}")
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    operation = document["paths"]["/v1/tenants/{tenant_id}/events"]["post"]
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": schema["properties"]["body"]}},
    }


@app.get("/v1/openapi.json", include_in_schema=False)
def get_openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@app.get("/v1/docs", include_in_schema=False)
def get_docs() -> Response[str]:
    # Powertools' own Swagger page renders its internal schema; ours adds the events body, so the
    # page is built from the same document as /v1/openapi.json (assets are bundled with Powertools).
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


@app.not_found
def _on_not_found(exc: Exception) -> Response[str]:
    return error_response(
        HTTPStatus.NOT_FOUND,
        "route_not_found",
        f"no route {app.current_event.http_method} {app.current_event.path}",
    )


@app.exception_handler(Exception)
def _on_unexpected(exc: Exception) -> Response[str]:
    # Log the type only: exception text can contain request data. The traceback goes to X-Ray/logs.
    logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error; it has been logged")


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point of the api function: the gate (size, auth) first, then the resolver."""
    platform, early_answer = gate(event)
    if early_answer is not None:
        return early_answer
    if platform is not None:
        app.append_context(platform=platform)
    return app.resolve(event, context)
