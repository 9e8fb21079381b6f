"""Connection routes (C1–C5). Thin: parse, call the use case, shape the answer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from sevbridge import wiring
from sevbridge.api.auth import current_platform
from sevbridge.api.params import TenantId
from sevbridge.api.schemas import (
    ConnectionPut,
    ConnectionPutResult,
    ConnectionTestResult,
    ConnectionView,
    ErrorResponse,
    TenantDeleted,
)
from sevbridge.api.schemas_imports import ImportsHealth
from sevbridge.common.observability import logger

router = Router()

ERRORS: dict[int, Any] = {
    401: {
        "description": "Missing or unknown platform API key",
        "content": {"application/json": {"schema": ErrorResponse.model_json_schema()}},
    },
    404: {
        "description": "No such tenant for this platform",
        "content": {"application/json": {"schema": ErrorResponse.model_json_schema()}},
    },
    422: {
        "description": "Invalid input, or sevDesk rejected the token",
        "content": {"application/json": {"schema": ErrorResponse.model_json_schema()}},
    },
}


@router.put(
    "/v1/tenants/<tenant_id>/connection",
    summary="Store or rotate a tenant's sevDesk token and settings",
    description="Tests the token against sevDesk first; nothing is stored if sevDesk rejects it. "
    "Answers 201 when the connection was created, 200 when it was updated.",
    tags=["connections"],
    responses={
        200: {"description": "Updated"},
        201: {"description": "Created"},
        **ERRORS,
        503: {"description": "sevDesk unreachable; nothing stored"},
    },
)
def put_connection(tenant_id: TenantId, body: ConnectionPut) -> Response[ConnectionPutResult]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    token = body.sevdesk_token.get_secret_value() if body.sevdesk_token else None
    connection, created, resumed = wiring.connection_service().put(
        platform.platform_id, tenant_id, token=token, settings_patch=body.settings_patch()
    )
    logger.info("connection stored", extra={"connection_created": created, "token_version": connection.token_version})
    result = ConnectionPutResult(
        **ConnectionView.of(connection).model_dump(), created=created, resumed_transfers=resumed
    )
    return Response(
        status_code=201 if created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=result,
    )


@router.get(
    "/v1/tenants/<tenant_id>/connection",
    summary="Status, token fingerprint, settings, last sync and health of a tenant's connection",
    tags=["connections"],
    responses=ERRORS,
)
def get_connection(tenant_id: TenantId) -> ConnectionView:
    platform = current_platform(router)
    view = ConnectionView.of(wiring.connection_service().get(platform.platform_id, tenant_id))
    view.imports = ImportsHealth.of(wiring.import_service().health(platform.platform_id, tenant_id))
    return view


@router.post(
    "/v1/tenants/<tenant_id>/connection/test",
    summary="Test the stored token against sevDesk (C2)",
    description="Reports the bookkeeping system version and the sevDesk user, or a precise reason. "
    "A rejected token flips the connection to `reconnect_required`.",
    tags=["connections"],
    responses=ERRORS,
)
def test_connection(tenant_id: TenantId) -> ConnectionTestResult:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    connection, outcome = wiring.connection_service().test(platform.platform_id, tenant_id)
    logger.info("connection tested", extra={"ok": outcome.ok, "reason": outcome.reason})
    return ConnectionTestResult(
        ok=outcome.ok,
        reason=outcome.reason,
        message=outcome.message,
        sevdesk=outcome.identity,
        connection=ConnectionView.of(connection),
    )


@router.delete(
    "/v1/tenants/<tenant_id>",
    summary="Offboard a tenant: delete its token and all its data (C5)",
    tags=["connections"],
    responses=ERRORS,
)
def delete_tenant(tenant_id: TenantId) -> TenantDeleted:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    deleted = wiring.connection_service().offboard(platform.platform_id, tenant_id)
    logger.info("tenant offboarded", extra={"items_deleted": deleted})
    return TenantDeleted(tenant_id=tenant_id, items_deleted=deleted)
