"""Imports and the change feed (M1–M5, M7). Thin: parse, call the use case, shape the answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from sevbridge import wiring
from sevbridge.api.auth import current_platform
from sevbridge.api.params import TenantId
from sevbridge.api.responses import SAME_TENANT, link, ok
from sevbridge.api.schemas_imports import ChangePage, ChangeView, ImportRequest, ImportRunList, ImportRunView
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.pull.records import CHANGE_RETENTION, ImportKind

router = Router()
RunId = Annotated[str, Path(pattern=r"^im_[0-9a-f]{14,40}$", description="Import id")]
IMPORT_LINKS = {
    "GetImport": link("get_import", "Follow this import", tenant_id=SAME_TENANT, run_id="$response.body#/run_id"),
    "ListChanges": link("list_changes", "Read what imports found", tenant_id=SAME_TENANT),
}


@router.post(
    "/v1/tenants/<tenant_id>/imports",
    operation_id="start_import",
    summary="Import from sevDesk now: the configured kinds, or the kinds given (order confirmations on demand)",
    description="Answers 202 with the new import; it runs in the background (GET …/imports/{id}). An import "
    "of this tenant that has not started yet and covers the request is returned instead (200). `full: true` "
    "reconciles: every record is read and records deleted in sevDesk are reported.",
    tags=["imports"],
    responses=ok(200, "An import waiting to start already covers this request", ImportRunView, links=IMPORT_LINKS)
    | ok(
        202,
        "Import queued",
        ImportRunView,
        links=IMPORT_LINKS,
        errors={
            409: "Integration disabled (`conflict`), or sevDesk rejected the token: store a new one first "
            "(`reconnect_required`)",
            422: "Invalid kinds, or nothing to import (`invalid_input`)",
            503: "Could not be queued (`temporarily_unavailable`); send the same request again",
        },
    ),
)
def start_import(tenant_id: TenantId, body: ImportRequest) -> Response[ImportRunView]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    run, created = wiring.import_service().start(platform.platform_id, tenant_id, kinds=body.kinds, full=body.full)
    logger.info("import requested", extra={"run_id": run.run_id, "import_created": created})
    metrics.add_metric(name="ImportsRequested", unit="Count", value=1)
    status = HTTPStatus.ACCEPTED if created else HTTPStatus.OK
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=ImportRunView.of(run))


@router.get(
    "/v1/tenants/<tenant_id>/imports",
    operation_id="list_imports",
    summary="Imports of a tenant, newest first",
    tags=["imports"],
    responses=ok(
        200,
        "One page of imports, newest first; `next_cursor` is set while more pages follow",
        ImportRunList,
        links={
            "GetImport": link(
                "get_import",
                "The newest import",
                tenant_id=SAME_TENANT,
                run_id="$response.body#/items/0/run_id",
            ),
            "NextPage": link(
                "list_imports", "The next page", tenant_id=SAME_TENANT, cursor="$response.body#/next_cursor"
            ),
        },
        errors={422: "Invalid parameter, or a `cursor` this list did not hand out (`invalid_input`)"},
    ),
)
def list_imports(
    tenant_id: TenantId,
    limit: Annotated[int, Query(ge=1, le=100, description="Imports per page (1–100)")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=256, description="Opaque: the `next_cursor` of the previous page")
    ] = None,
) -> ImportRunList:
    platform = current_platform(router)
    page = wiring.import_service().list(platform.platform_id, tenant_id, limit=limit, cursor=cursor)
    return ImportRunList(items=[ImportRunView.of(run) for run in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/tenants/<tenant_id>/imports/<run_id>",
    operation_id="get_import",
    summary="One import: state, per-kind counts, sevDesk requests, duration and error",
    tags=["imports"],
    responses=ok(200, "The import", ImportRunView),
)
def get_import(tenant_id: TenantId, run_id: RunId) -> ImportRunView:
    platform = current_platform(router)
    return ImportRunView.of(wiring.import_service().get(platform.platform_id, tenant_id, run_id))


@router.get(
    "/v1/tenants/<tenant_id>/changes",
    operation_id="list_changes",
    summary="Records imported from sevDesk, oldest first (change feed)",
    description="Start without `after`; then always pass the `next_cursor` of the previous answer. Changes are "
    f"kept {CHANGE_RETENTION.days} days: a cursor older than that gets 410 (reconcile with a full import, then "
    "start again without a cursor). The cursor never skips a change, however late it was recorded.",
    tags=["imports"],
    responses=ok(
        200,
        "Changes after the cursor, oldest first",
        ChangePage,
        links={
            "NextPage": link(
                "list_changes",
                "Changes after these (also when this page was empty)",
                tenant_id=SAME_TENANT,
                after="$response.body#/next_cursor",
            )
        },
        errors={
            410: "Changes after this cursor have expired (`gone`): import with `full: true`, then read "
            "without a cursor",
            422: "Invalid parameter, or a cursor this feed did not hand out (`invalid_input`)",
        },
    ),
)
def list_changes(
    tenant_id: TenantId,
    after: Annotated[
        str | None, Query(max_length=256, description="Opaque: the `next_cursor` of the previous page")
    ] = None,
    kind: Annotated[
        ImportKind | None,
        Query(description="Only this kind: contacts · articles · order_confirmations · invoices"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Changes per page (1–200)")] = 100,
) -> ChangePage:
    platform = current_platform(router)
    page = wiring.import_service().changes(platform.platform_id, tenant_id, after=after, kind=kind, limit=limit)
    return ChangePage(items=[ChangeView.of(c) for c in page.items], next_cursor=page.cursor, has_more=page.has_more)
