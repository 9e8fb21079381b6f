"""Connection routes (C1–C5). Thin: parse, call the use case, shape the answer."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from sevbridge import wiring
from sevbridge.api.auth import current_platform
from sevbridge.api.params import OffboardedTenantId, TenantId
from sevbridge.api.responses import SAME_TENANT, link, ok
from sevbridge.api.schemas import (
    ConnectionPut,
    ConnectionPutResult,
    ConnectionTestResult,
    ConnectionView,
    TenantDeleted,
)
from sevbridge.api.schemas_imports import ImportsHealth
from sevbridge.common.observability import logger

router = Router()
CONNECTED_LINKS = {
    "GetConnection": link("get_connection", "Read the connection back", tenant_id=SAME_TENANT),
    "TestConnection": link("test_connection", "Test the stored token", tenant_id=SAME_TENANT),
    "PostEvents": link("post_events", "Send events for this tenant", tenant_id=SAME_TENANT),
    "ListTransfers": link("list_transfers", "List this tenant's transfers", tenant_id=SAME_TENANT),
    "RetryFailedTransfers": link("retry_failed_transfers", "Send failed transfers again", tenant_id=SAME_TENANT),
    "StartImport": link("start_import", "Import from sevDesk now", tenant_id=SAME_TENANT),
    "ListImports": link("list_imports", "List this tenant's imports", tenant_id=SAME_TENANT),
    "ListChanges": link("list_changes", "Read the change feed", tenant_id=SAME_TENANT),
    "DeleteTenant": link("delete_tenant", "Offboard the tenant", tenant_id=SAME_TENANT),
}


@router.put(
    "/v1/tenants/<tenant_id>/connection",
    operation_id="put_connection",
    summary="Store or rotate a tenant's sevDesk token and settings",
    description="Tests the token against sevDesk first; nothing is stored if sevDesk rejects it. "
    "Answers 201 when the connection was created, 200 when it was updated.",
    tags=["connections"],
    responses=ok(200, "Updated", ConnectionPutResult, links=CONNECTED_LINKS)
    | ok(
        201,
        "Created",
        ConnectionPutResult,
        links=CONNECTED_LINKS,
        errors={
            422: "Invalid input, or sevDesk rejected the token (`connection_rejected`, reason in details)",
            429: "Too many tokens sevDesk rejected for this tenant or platform lately "
            "(`rate_limited`); wait `Retry-After` seconds",
            503: "sevDesk unreachable or failing (`sevdesk_unavailable`); nothing was stored",
        },
    ),
)
def put_connection(tenant_id: TenantId, body: ConnectionPut) -> Response[ConnectionPutResult]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    token = body.sevdesk_token.get_secret_value() if body.sevdesk_token else None
    if body.settings and body.settings.webhook_url is not None:
        # Deployed: a public https URL only (the same rules as for webhook endpoints).
        wiring.webhook_endpoints().check_url(str(body.settings.webhook_url), field="settings.webhook_url")
    connection, created, resumed = wiring.connection_service().put(
        platform.platform_id, tenant_id, token=token, settings_patch=body.settings_patch()
    )
    logger.info("connection stored", extra={"connection_created": created, "token_version": connection.token_version})
    # A tenant's URL override signs with its own secret, created (and shown) the first time a URL is set.
    webhook_secret = wiring.webhook_endpoints().tenant_settings_changed(platform.platform_id, tenant_id)
    result = ConnectionPutResult(
        **ConnectionView.of(connection).model_dump(),
        created=created,
        resumed_transfers=resumed,
        webhook_secret=webhook_secret,
    )
    return Response(
        status_code=201 if created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=result,
    )


@router.get(
    "/v1/tenants/<tenant_id>/connection",
    operation_id="get_connection",
    summary="Status, token fingerprint, settings, last sync and health of a tenant's connection",
    tags=["connections"],
    responses=ok(200, "The connection", ConnectionView),
)
def get_connection(tenant_id: TenantId) -> ConnectionView:
    platform = current_platform(router)
    view = ConnectionView.of(wiring.connection(platform.platform_id, tenant_id))
    view.imports = ImportsHealth.of(wiring.import_service().health(platform.platform_id, tenant_id))
    return view


@router.post(
    "/v1/tenants/<tenant_id>/connection/test",
    summary="Test the stored token against sevDesk (C2)",
    description="Reports the bookkeeping system version and the sevDesk user, or a precise reason. "
    "A rejected token flips the connection to `reconnect_required`.",
    tags=["connections"],
    operation_id="test_connection",
    responses=ok(
        200,
        "The outcome: `ok`, or a `reason` (the token was tested; a rejected one flips the connection)",
        ConnectionTestResult,
        errors={429: "Too many tokens sevDesk rejected lately (`rate_limited`); wait `Retry-After` seconds"},
    ),
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
    operation_id="delete_tenant",
    summary="Offboard a tenant: delete its token and all its data (C5)",
    tags=["connections"],
    responses=ok(200, "Deleted", TenantDeleted),
)
def delete_tenant(tenant_id: OffboardedTenantId) -> TenantDeleted:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    deleted = wiring.connection_service().offboard(platform.platform_id, tenant_id)
    logger.info("tenant offboarded", extra={"items_deleted": deleted})
    return TenantDeleted(tenant_id=tenant_id, items_deleted=deleted)
