"""Imports and the change feed (M1–M5, M7). Thin: parse, call the use case, shape the answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel

from sevbridge import wiring
from sevbridge.api.auth import current_platform
from sevbridge.api.params import TenantId
from sevbridge.api.schemas import ErrorResponse
from sevbridge.api.schemas_imports import ChangePage, ChangeView, ImportRequest, ImportRunList, ImportRunView
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.pull.records import CHANGE_RETENTION, ImportKind

router = Router()
RunId = Annotated[str, Path(pattern=r"^im_[0-9a-f]{14,40}$", description="Import id")]


def _answer(description: str, model: type[BaseModel] = ErrorResponse) -> Any:
    return {"description": description, "content": {"application/json": {"model": model}}}


@router.post(
    "/v1/tenants/<tenant_id>/imports",
    summary="Import from sevDesk now: the configured kinds, or the kinds given (order confirmations on demand)",
    description="Answers 202 with the new import; it runs in the background (GET …/imports/{id}). An import "
    "of this tenant that has not started yet and covers the request is returned instead (200). `full: true` "
    "reconciles: every record is read and records deleted in sevDesk are reported.",
    tags=["imports"],
    responses={
        200: _answer("An import waiting to start already covers this request", ImportRunView),
        202: _answer("Import queued", ImportRunView),
        404: _answer("No such tenant"),
        409: _answer("Integration disabled, or the sevDesk token was rejected (store a new one first)"),
        422: _answer("Invalid kinds, or nothing to import"),
        503: _answer("Could not be queued; try again"),
    },
)
def start_import(tenant_id: TenantId, body: ImportRequest) -> Response[str]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    run, created = wiring.import_service().start(platform.platform_id, tenant_id, kinds=body.kinds, full=body.full)
    logger.info("import requested", extra={"run_id": run.run_id, "import_created": created})
    metrics.add_metric(name="ImportsRequested", unit="Count", value=1)
    status = HTTPStatus.ACCEPTED if created else HTTPStatus.OK
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=ImportRunView.of(run).model_dump_json(),
    )


@router.get(
    "/v1/tenants/<tenant_id>/imports",
    summary="Imports of a tenant, newest first",
    tags=["imports"],
    responses={200: _answer("Newest first", ImportRunList), 404: _answer("No such tenant")},
)
def list_imports(
    tenant_id: TenantId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> ImportRunList:
    platform = current_platform(router)
    page = wiring.import_service().list(platform.platform_id, tenant_id, limit=limit, cursor=cursor)
    return ImportRunList(items=[ImportRunView.of(run) for run in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/tenants/<tenant_id>/imports/<run_id>",
    summary="One import: state, per-kind counts, sevDesk requests, duration and error",
    tags=["imports"],
    responses={200: _answer("The import", ImportRunView), 404: _answer("No such tenant or import")},
)
def get_import(tenant_id: TenantId, run_id: RunId) -> ImportRunView:
    platform = current_platform(router)
    return ImportRunView.of(wiring.import_service().get(platform.platform_id, tenant_id, run_id))


@router.get(
    "/v1/tenants/<tenant_id>/changes",
    summary="Records imported from sevDesk, oldest first (change feed)",
    description="Start without `after`; then always pass the `next_cursor` of the previous answer. Changes are "
    f"kept {CHANGE_RETENTION.days} days: a cursor older than that gets 410 (reconcile with a full import, then "
    "start again without a cursor). The cursor never skips a change, however late it was recorded.",
    tags=["imports"],
    responses={
        200: _answer("Changes after the cursor, oldest first", ChangePage),
        404: _answer("No such tenant"),
        410: _answer("Changes after this cursor have expired"),
        422: _answer("Invalid cursor or parameters"),
    },
)
def list_changes(
    tenant_id: TenantId,
    after: Annotated[str | None, Query(max_length=256, description="`next_cursor` of the previous page")] = None,
    kind: Annotated[ImportKind | None, Query(description="Only this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> ChangePage:
    platform = current_platform(router)
    page = wiring.import_service().changes(platform.platform_id, tenant_id, after=after, kind=kind, limit=limit)
    return ChangePage(items=[ChangeView.of(c) for c in page.items], next_cursor=page.cursor, has_more=page.has_more)
