"""Backfills (B1–B3, M6). Thin: parse, call the use case, shape the answer."""

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
from sevbridge.api.schemas_backfills import BackfillList, BackfillRequest, BackfillView, ItemList, ItemsRequest
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.backfill.jobs import BackfillJob, ItemStatus

router = Router()
BackfillId = Annotated[str, Path(pattern=r"^bf_[0-9a-f]{13,40}$", description="Backfill id")]
LINKS = {
    "GetBackfill": link(
        "get_backfill", "Follow this backfill", tenant_id=SAME_TENANT, backfill_id="$response.body#/backfill_id"
    ),
    "ListBackfillItems": link(
        "list_backfill_items",
        "Documents that failed, were skipped or invalid",
        tenant_id=SAME_TENANT,
        backfill_id="$response.body#/backfill_id",
    ),
}
CONTROL_ERRORS = {
    409: "Not possible in the backfill's state, integration disabled, or sevDesk rejected the token (`conflict`)",
    503: "Could not be queued (`temporarily_unavailable`); send the same request again",
}


def _view(job: BackfillJob, *, with_upload_url: bool = False) -> BackfillView:
    service = wiring.backfill_service()
    url = service.upload_url(job) if with_upload_url else None
    return BackfillView.of(job, wiring.clock().now(), url)


def _answer(status: HTTPStatus, view: BackfillView) -> Response[BackfillView]:
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=view)


@router.post(
    "/v1/tenants/<tenant_id>/backfills",
    operation_id="create_backfill",
    summary="Create a backfill: push historic documents to sevDesk, or pull all history from sevDesk",
    description="push: add documents with POST …/items (pages of up to 500) or PUT one NDJSON file to the "
    "returned `upload_url` (`source: upload`), then POST …/start. pull: POST …/start imports every record of "
    "`kinds` into the change feed. Nothing runs before start.",
    tags=["backfills"],
    responses=ok(
        201,
        "Backfill created (state `created`)",
        BackfillView,
        links=LINKS,
        errors={422: "Invalid body, e.g. push without `kind` or filters on contacts (`invalid_input`)"},
    ),
)
def create_backfill(tenant_id: TenantId, body: BackfillRequest) -> Response[BackfillView]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    job = wiring.backfill_service().create(
        platform.platform_id,
        tenant_id,
        direction=body.direction,
        kind=body.kind,
        kinds=body.kinds or [],
        filters=body.filters.domain() if body.filters else None,
        source=body.source,
    )
    logger.info("backfill created", extra={"backfill_id": job.job_id, "direction": job.direction.value})
    metrics.add_metric(name="BackfillsCreated", unit="Count", value=1)
    return _answer(HTTPStatus.CREATED, _view(job, with_upload_url=True))


@router.get(
    "/v1/tenants/<tenant_id>/backfills",
    operation_id="list_backfills",
    summary="Backfills of a tenant, newest first",
    tags=["backfills"],
    responses=ok(
        200,
        "One page of backfills; `next_cursor` is set while more pages follow",
        BackfillList,
        links={
            "NextPage": link(
                "list_backfills", "The next page", tenant_id=SAME_TENANT, cursor="$response.body#/next_cursor"
            )
        },
        errors={422: "Invalid parameter, or a `cursor` this list did not hand out (`invalid_input`)"},
    ),
)
def list_backfills(
    tenant_id: TenantId,
    limit: Annotated[int, Query(ge=1, le=100, description="Backfills per page (1–100)")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=256, description="Opaque: the `next_cursor` of the previous page")
    ] = None,
) -> BackfillList:
    platform = current_platform(router)
    page = wiring.backfill_service().list_jobs(platform.platform_id, tenant_id, limit=limit, cursor=cursor)
    now = wiring.clock().now()
    return BackfillList(items=[BackfillView.of(job, now) for job in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/tenants/<tenant_id>/backfills/<backfill_id>",
    operation_id="get_backfill",
    summary="One backfill: state, total, counters, rate and ETA",
    tags=["backfills"],
    responses=ok(200, "The backfill", BackfillView),
)
def get_backfill(tenant_id: TenantId, backfill_id: BackfillId) -> BackfillView:
    platform = current_platform(router)
    job = wiring.backfill_service().get(platform.platform_id, tenant_id, backfill_id)
    return _view(job, with_upload_url=True)


@router.post(
    "/v1/tenants/<tenant_id>/backfills/<backfill_id>/items",
    operation_id="add_backfill_items",
    summary="Add one page of up to 500 documents to a push backfill (before start)",
    description='Each document is `{"occurred_at": …, "data": {…}}` like an event of the backfill\'s kind. '
    "Documents are checked when the backfill runs: invalid ones are reported per line with the field "
    "(…/items?status=invalid), valid ones proceed.",
    tags=["backfills"],
    responses=ok(
        200,
        "Page stored",
        BackfillView,
        errors={
            409: "The backfill has started, reads an upload, or holds the most pages (`conflict`)",
            422: "Not 1–500 documents, or a document that is not an object (`invalid_input`)",
        },
    ),
)
def add_backfill_items(tenant_id: TenantId, backfill_id: BackfillId, body: ItemsRequest) -> BackfillView:
    platform = current_platform(router)
    job = wiring.backfill_service().add_items(platform.platform_id, tenant_id, backfill_id, body.documents)
    return _view(job)


@router.post(
    "/v1/tenants/<tenant_id>/backfills/<backfill_id>/start",
    operation_id="start_backfill",
    summary="Start a backfill; it runs in the background (GET …/backfills/{id})",
    tags=["backfills"],
    responses=ok(202, "Started (or already running or finished)", BackfillView, links=LINKS, errors=CONTROL_ERRORS),
)
def start_backfill(tenant_id: TenantId, backfill_id: BackfillId) -> Response[BackfillView]:
    platform = current_platform(router)
    job = wiring.backfill_service().start(platform.platform_id, tenant_id, backfill_id)
    logger.info("backfill started", extra={"backfill_id": job.job_id})
    return _answer(HTTPStatus.ACCEPTED, _view(job))


@router.post(
    "/v1/tenants/<tenant_id>/backfills/<backfill_id>/cancel",
    operation_id="cancel_backfill",
    summary="Cancel a backfill: documents in flight finish, nothing else starts (resume goes on)",
    tags=["backfills"],
    responses=ok(200, "Cancelled (or already finished)", BackfillView, links=LINKS),
)
def cancel_backfill(tenant_id: TenantId, backfill_id: BackfillId) -> BackfillView:
    platform = current_platform(router)
    return _view(wiring.backfill_service().cancel(platform.platform_id, tenant_id, backfill_id))


@router.post(
    "/v1/tenants/<tenant_id>/backfills/<backfill_id>/resume",
    operation_id="resume_backfill",
    summary="Resume a cancelled or stuck backfill where it stopped; nothing is sent twice",
    tags=["backfills"],
    responses=ok(202, "Running again", BackfillView, links=LINKS, errors=CONTROL_ERRORS),
)
def resume_backfill(tenant_id: TenantId, backfill_id: BackfillId) -> Response[BackfillView]:
    platform = current_platform(router)
    job = wiring.backfill_service().resume(platform.platform_id, tenant_id, backfill_id)
    return _answer(HTTPStatus.ACCEPTED, _view(job))


@router.post(
    "/v1/tenants/<tenant_id>/backfills/<backfill_id>/retry-failed",
    operation_id="retry_failed_backfill_items",
    summary="Send a push backfill's failed documents again",
    tags=["backfills"],
    responses=ok(
        202, "Failed documents queued again (none: unchanged)", BackfillView, links=LINKS, errors=CONTROL_ERRORS
    ),
)
def retry_failed_backfill_items(tenant_id: TenantId, backfill_id: BackfillId) -> Response[BackfillView]:
    platform = current_platform(router)
    job = wiring.backfill_service().retry_failed(platform.platform_id, tenant_id, backfill_id)
    return _answer(HTTPStatus.ACCEPTED, _view(job))


@router.get(
    "/v1/tenants/<tenant_id>/backfills/<backfill_id>/items",
    operation_id="list_backfill_items",
    summary="Per-document results of a push backfill: failed, skipped and invalid documents, in line order",
    tags=["backfills"],
    responses=ok(
        200,
        "One page of results; `next_cursor` is set while more pages follow",
        ItemList,
        links={
            "NextPage": link(
                "list_backfill_items",
                "The next page",
                tenant_id=SAME_TENANT,
                backfill_id="$request.path.backfill_id",
                cursor="$response.body#/next_cursor",
            )
        },
        errors={422: "Invalid parameter, or a `cursor` this list did not hand out (`invalid_input`)"},
    ),
)
def list_backfill_items(
    tenant_id: TenantId,
    backfill_id: BackfillId,
    status: Annotated[ItemStatus | None, Query(description="failed · skipped · invalid; all three without")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Results per page (1–500)")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=256, description="Opaque: the `next_cursor` of the previous page")
    ] = None,
) -> ItemList:
    platform = current_platform(router)
    page = wiring.backfill_service().items(
        platform.platform_id, tenant_id, backfill_id, status=status, limit=limit, cursor=cursor
    )
    return ItemList.of(page)
