"""Events intake and transfer routes (I1–I8, I6). Thin: parse, call the use case, shape the answer."""

from __future__ import annotations

import json
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from sevbridge import wiring
from sevbridge.api.auth import current_platform
from sevbridge.api.errors import error_response
from sevbridge.api.params import TenantId
from sevbridge.api.schemas_transfers import (
    EventResultBody,
    EventsAccepted,
    RetryResult,
    TransferDetail,
    TransferList,
    TransferView,
)
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.errors import Conflict
from sevbridge.domain.intake import MAX_BATCH
from sevbridge.domain.intake_models import TransferQuery
from sevbridge.domain.ledger import TransferKind, TransferStatus

router = Router()
EVENTS_PATH = "/v1/tenants/<tenant_id>/events"
TransferId = Annotated[str, Path(pattern=r"^tr_[0-9a-f]{14,40}$", description="Transfer id")]


@router.post(
    EVENTS_PATH,
    summary="Send one event or a batch of up to 100 (contact, invoice, project events)",
    description="Answers 202 with a transfer id per document. The event id makes delivery idempotent: "
    "the same id and body get the same answer, the same id with another body gets 409. In a batch, valid "
    "events are accepted and invalid ones reported one by one.",
    tags=["events"],
    responses={
        202: {"description": "Accepted (see per-event results)"},
        401: {"description": "Missing or unknown platform API key"},
        413: {"description": "Body larger than MAX_BODY_BYTES"},
        503: {"description": "Recorded but not queued: send the same events again (same ids)"},
        400: {"description": "Malformed JSON"},
        404: {"description": "No such tenant"},
        409: {"description": "Event id reused / integration disabled"},
        422: {"description": "Invalid event(s)"},
    },
)
def post_events(tenant_id: TenantId) -> Response[str]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    text = router.current_event.body
    if not text:
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_input",
            'request body is required: one event, or {"events": [...]}',
            [{"field": "body", "problem": "is required", "type": "missing"}],
        )
    raw = json.loads(text)  # the gate has checked that the body is JSON (api/request_body.py)
    batch = isinstance(raw, dict) and "events" in raw and "type" not in raw
    if batch and set(raw) != {"events"}:
        extra = set(raw) - {"events"}
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_input",
            f'a batch holds only "events"; it has {len(extra)} other field(s)',
            [{"field": name, "problem": "is not a known field", "type": "extra_forbidden"} for name in sorted(extra)],
        )
    events: Any = raw["events"] if batch else [raw]
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_BATCH:
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_input",
            f"events must be a list of 1 to {MAX_BATCH} events",
            [{"field": "events", "problem": f"must hold 1 to {MAX_BATCH} events"}],
        )

    connection = wiring.connection_service().get(platform.platform_id, tenant_id)
    if not connection.settings.enabled:
        raise Conflict("the integration is disabled for this tenant; enable it in the connection settings")
    intake = wiring.intake()
    results = intake.accept(connection, events)
    accepted = sum(r.status == "accepted" for r in results)
    metrics.add_metric(name="EventsAccepted", unit="Count", value=accepted)

    if not batch:
        only = results[0]
        if only.status != "accepted":
            err = only.answer["error"]
            status = HTTPStatus.CONFLICT if only.status == "conflict" else HTTPStatus.UNPROCESSABLE_ENTITY
            return error_response(status, err["code"], err["message"], err["details"])
    body = EventsAccepted(
        accepted=accepted,
        rejected=len(results) - accepted,
        results=[
            EventResultBody(
                index=r.index,
                event_id=r.event_id,
                status=r.status,
                transfers=r.answer.get("transfers", []),
                error=r.answer.get("error"),
            )
            for r in results
        ],
    )
    status = HTTPStatus.ACCEPTED if accepted else HTTPStatus.UNPROCESSABLE_ENTITY
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body.model_dump_json())


@router.get(
    "/v1/tenants/<tenant_id>/transfers",
    summary="List transfers, newest first, with filters (I6)",
    tags=["transfers"],
)
def list_transfers(
    tenant_id: TenantId,
    kind: Annotated[TransferKind | None, Query(description="contact · invoice · invoice_draft")] = None,
    status: Annotated[TransferStatus | None, Query()] = None,
    source_id: Annotated[str | None, Query(max_length=128, description="The platform's document id")] = None,
    since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> TransferList:
    platform = current_platform(router)
    wiring.connection_service().get(platform.platform_id, tenant_id)
    query = TransferQuery(
        kind=kind, status=status, source_id=source_id, since=since, until=until, limit=limit, cursor=cursor
    )
    page = wiring.transfer_ops().list_transfers(platform.platform_id, tenant_id, query)
    return TransferList(items=[TransferView.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/tenants/<tenant_id>/transfers/<transfer_id>",
    summary="One transfer with its history",
    tags=["transfers"],
)
def get_transfer(tenant_id: TenantId, transfer_id: TransferId) -> TransferDetail:
    platform = current_platform(router)
    wiring.connection_service().get(platform.platform_id, tenant_id)  # an offboarded tenant has no transfers
    return TransferDetail.of(wiring.transfer_ops().get(platform.platform_id, tenant_id, transfer_id))


@router.post(
    "/v1/tenants/<tenant_id>/transfers/<transfer_id>/retry",
    summary="Send a failed transfer again, in the background",
    tags=["transfers"],
    responses={409: {"description": "Not failed"}},
)
def retry_transfer(tenant_id: TenantId, transfer_id: TransferId) -> Response[str]:
    platform = current_platform(router)
    wiring.connection_service().get(platform.platform_id, tenant_id)
    transfer = wiring.transfer_ops().retry(platform.platform_id, tenant_id, transfer_id)
    body = RetryResult(retried=1, transfers=[TransferView.of(transfer)])
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json())


@router.post(
    "/v1/tenants/<tenant_id>/transfers/retry",
    summary="Send every failed transfer of the tenant again, in order",
    tags=["transfers"],
)
def retry_all_failed(tenant_id: TenantId) -> Response[str]:
    platform = current_platform(router)
    wiring.connection_service().get(platform.platform_id, tenant_id)
    transfers = wiring.transfer_ops().retry_all_failed(platform.platform_id, tenant_id)
    body = RetryResult(retried=len(transfers), transfers=[TransferView.of(t) for t in transfers])
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json())
