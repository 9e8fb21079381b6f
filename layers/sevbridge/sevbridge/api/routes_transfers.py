"""Events intake and transfer routes (I1–I8, I6). Thin: parse, call the use case, shape the answer."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from sevbridge import wiring
from sevbridge.api.auth import current_platform
from sevbridge.api.errors import ApiError, safe_details
from sevbridge.api.params import IsoDateTime, TenantId
from sevbridge.api.responses import SAME_TENANT, link, ok
from sevbridge.api.schemas_transfers import (
    MAX_LOOKUP,
    DocumentStateView,
    EnsuredDocument,
    EnsureEventResult,
    EnsureResult,
    EventResultBody,
    EventsAccepted,
    LookupRequest,
    LookupResult,
    RetryResult,
    TransferDetail,
    TransferList,
    TransferView,
)
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.connection import Connection
from sevbridge.domain.errors import Conflict
from sevbridge.domain.intake import MAX_BATCH, EventResult
from sevbridge.domain.intake_models import DocumentKey, TransferQuery
from sevbridge.domain.ledger import TRANSFER_ID_PATTERN, TransferKind, TransferStatus

router = Router()
EVENTS_PATH = "/v1/tenants/<tenant_id>/events"
TransferId = Annotated[str, Path(pattern=TRANSFER_ID_PATTERN, description="Transfer id")]


@router.post(
    EVENTS_PATH,
    operation_id="post_events",
    summary="Send one event or a batch of up to 100 (contact, invoice, project events)",
    description="Answers 202 with a transfer id per document. The event id makes delivery idempotent: "
    "the same id and body get the same answer, the same id with another body gets 409. In a batch, valid "
    "events are accepted and invalid ones reported one by one (202 while at least one was accepted; when "
    "none was, 422 — or 409 if every one reused an id — with each problem under `events.<index>`).",
    tags=["events"],
    responses=ok(
        202,
        "Accepted (see per-event results)",
        EventsAccepted,
        links={
            "GetTransfer": link(
                "get_transfer",
                "The first document's transfer",
                tenant_id=SAME_TENANT,
                transfer_id="$response.body#/results/0/transfers/0/transfer_id",
            ),
            "RetryTransfer": link(
                "retry_transfer",
                "Send the first document again once it has failed",
                tenant_id=SAME_TENANT,
                transfer_id="$response.body#/results/0/transfers/0/transfer_id",
            ),
        },
        errors={
            409: "The event id was used before with another body, or the integration is disabled (`conflict`)",
            422: "Invalid event(s): each problem in `details` (in a batch, under `events.<index>`)",
            503: "Recorded but not queued (`temporarily_unavailable`): send the same events again (same ids)",
        },
    ),
)
def post_events(tenant_id: TenantId) -> Response[EventsAccepted]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    batch, events = _events_of_body()
    connection = _enabled_connection(platform.platform_id, tenant_id)
    intake = wiring.intake()
    results = intake.accept(connection, events)
    accepted = sum(r.status == "accepted" for r in results)
    metrics.add_metric(name="EventsAccepted", unit="Count", value=accepted)

    if not batch:
        only = results[0]
        if only.status != "accepted":
            err = only.answer["error"]
            status = HTTPStatus.CONFLICT if only.status == "conflict" else HTTPStatus.UNPROCESSABLE_ENTITY
            raise ApiError(status, err["code"], err["message"], err["details"])
    if not accepted:
        raise _none_accepted(results)
    body = EventsAccepted(
        accepted=accepted,
        rejected=len(results) - accepted,
        results=[
            EventResultBody(
                index=r.index,
                event_id=r.event_id,
                status=r.status,
                transfers=r.answer.get("transfers", []),
                error=_safe_error(r.answer.get("error")),
            )
            for r in results
        ],
    )
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=body)


def _events_of_body() -> tuple[bool, list[Any]]:
    """The request's events: one event, or {"events": [...]} with 1 to MAX_BATCH."""
    text = router.current_event.body
    if not text:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_input",
            'request body is required: one event, or {"events": [...]}',
            [{"field": "body", "problem": "is required", "type": "missing"}],
        )
    raw = json.loads(text)  # the gate has checked that the body is JSON (api/request_body.py)
    batch = isinstance(raw, dict) and "events" in raw and "type" not in raw
    if batch and set(raw) != {"events"}:
        extra = set(raw) - {"events"}
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_input",
            f'a batch holds only "events"; it has {len(extra)} other field(s)',
            [{"field": name, "problem": "is not a known field", "type": "extra_forbidden"} for name in sorted(extra)],
        )
    events: Any = raw["events"] if batch else [raw]
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_BATCH:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_input",
            f"events must be a list of 1 to {MAX_BATCH} events",
            [{"field": "events", "problem": f"must hold 1 to {MAX_BATCH} events"}],
        )

    return batch, events


def _safe_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if error is None else {**error, "details": safe_details(error.get("details") or [])}


def _none_accepted(results: list[EventResult]) -> ApiError:
    """Every 4xx has the error body: a batch without one accepted event lists each problem under
    `events.<index>` (the event ids are the caller's values and stay out of an error)."""
    details = []
    for r in results:
        error = r.answer["error"]
        for detail in error.get("details") or [{"problem": error["message"]}]:
            field = ".".join(part for part in ("events", str(r.index), detail.get("field") or "") if part)
            details.append({**detail, "field": field, "code": error["code"]})
    conflicts = all(r.status == "conflict" for r in results)
    return ApiError(
        HTTPStatus.CONFLICT if conflicts else HTTPStatus.UNPROCESSABLE_ENTITY,
        "conflict" if conflicts else "invalid_input",
        f"none of the {len(results)} event(s) was accepted; details name each problem",
        details,
    )


@router.get(
    "/v1/tenants/<tenant_id>/transfers",
    operation_id="list_transfers",
    summary="List transfers, newest first, with filters (I6)",
    tags=["transfers"],
    responses=ok(
        200,
        "One page of transfers; `next_cursor` is set while more pages follow",
        TransferList,
        links={
            "GetTransfer": link(
                "get_transfer",
                "The first transfer of the page, with its history",
                tenant_id=SAME_TENANT,
                transfer_id="$response.body#/items/0/transfer_id",
            ),
            "NextPage": link(
                "list_transfers",
                "The next page (same filters)",
                tenant_id=SAME_TENANT,
                cursor="$response.body#/next_cursor",
            ),
        },
        errors={422: "Invalid filter, or a `cursor` this list did not hand out (`invalid_input`)"},
    ),
)
def list_transfers(
    tenant_id: TenantId,
    kind: Annotated[TransferKind | None, Query(description="Only this kind: contact · invoice · invoice_draft")] = None,
    status: Annotated[
        TransferStatus | None,
        Query(
            description="Only this state: queued · sending · transferred · failed · skipped · waiting_for_credentials"
        ),
    ] = None,
    source_id: Annotated[
        str | None, Query(max_length=128, description="Only the transfers of this platform document id")
    ] = None,
    since: Annotated[IsoDateTime | None, Query(description="Created at or after (ISO 8601 with offset)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Created before (ISO 8601 with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Transfers per page (1–200)")] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=2048,
            description="Opaque: the `next_cursor` of the previous page; send the same filters with it",
        ),
    ] = None,
) -> TransferList:
    platform = current_platform(router)
    wiring.connection(platform.platform_id, tenant_id)
    query = TransferQuery(
        kind=kind, status=status, source_id=source_id, since=since, until=until, limit=limit, cursor=cursor
    )
    page = wiring.transfer_ops().list_transfers(platform.platform_id, tenant_id, query)
    return TransferList(items=[TransferView.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/tenants/<tenant_id>/transfers/<transfer_id>",
    operation_id="get_transfer",
    summary="One transfer with its history",
    tags=["transfers"],
    responses=ok(200, "The transfer", TransferDetail),
)
def get_transfer(tenant_id: TenantId, transfer_id: TransferId) -> TransferDetail:
    platform = current_platform(router)
    wiring.connection(platform.platform_id, tenant_id)  # an offboarded tenant has no transfers
    return TransferDetail.of(wiring.transfer_ops().get(platform.platform_id, tenant_id, transfer_id))


@router.post(
    "/v1/tenants/<tenant_id>/transfers/<transfer_id>/retry",
    operation_id="retry_transfer",
    summary="Send a failed transfer again, in the background",
    tags=["transfers"],
    responses=ok(
        202,
        "Queued again",
        RetryResult,
        errors={409: "The transfer has not failed (`conflict`); the message says what happens to it instead"},
    ),
)
def retry_transfer(tenant_id: TenantId, transfer_id: TransferId) -> Response[RetryResult]:
    platform = current_platform(router)
    wiring.connection(platform.platform_id, tenant_id)
    transfer = wiring.transfer_ops().retry(platform.platform_id, tenant_id, transfer_id)
    body = RetryResult(retried=1, transfers=[TransferView.of(transfer)])
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=body)


@router.post(
    "/v1/tenants/<tenant_id>/transfers/retry",
    operation_id="retry_failed_transfers",
    summary="Send every failed transfer of the tenant again, in order",
    tags=["transfers"],
    responses=ok(202, "The transfers queued again (none if none had failed)", RetryResult),
)
def retry_all_failed(tenant_id: TenantId) -> Response[RetryResult]:
    platform = current_platform(router)
    wiring.connection(platform.platform_id, tenant_id)
    transfers = wiring.transfer_ops().retry_all_failed(platform.platform_id, tenant_id)
    body = RetryResult(retried=len(transfers), transfers=[TransferView.of(t) for t in transfers])
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=body)


@router.post(
    "/v1/tenants/<tenant_id>/transfers/lookup",
    operation_id="lookup_documents",
    summary=f"The transfer state of up to {MAX_LOOKUP} documents in one call (a status column)",
    description="Answers each document's latest transfer in the order asked: not_transferred, queued, "
    "transferred (with the sevDesk id and number), failed or skipped (with the reason), or "
    "waiting_for_credentials; sending only while a backfill sends its copy of the document. Read by key: "
    "the cost does not grow with the tenant's history.",
    tags=["transfers"],
    responses=ok(200, "One answer per document, in request order", LookupResult),
)
def lookup_documents(tenant_id: TenantId, body: LookupRequest) -> LookupResult:
    platform = current_platform(router)
    wiring.connection(platform.platform_id, tenant_id)
    keys = [DocumentKey(kind=d.kind, source_id=d.source_id) for d in body.documents]
    states = wiring.transfer_ops().lookup(platform.platform_id, tenant_id, keys)
    return LookupResult(
        documents=[
            DocumentStateView(kind=key.kind, source_id=key.source_id, status="not_transferred")
            if state is None
            else DocumentStateView(
                kind=key.kind,
                source_id=key.source_id,
                status=state.status.value,
                transfer_id=state.transfer_id,
                sevdesk_id=state.sevdesk_id,
                sevdesk_number=state.sevdesk_number,
                reason=state.reason,
                version=state.version,
                updated_at=state.updated_at,
            )
            for key, state in zip(keys, states, strict=True)
        ]
    )


@router.post(
    "/v1/tenants/<tenant_id>/transfers/ensure",
    operation_id="ensure_transferred",
    summary="Transfer what is not transferred yet, for up to 100 documents in one call",
    description='The body is that of POST …/events (one event, or {"events": [...]} with up to 100). '
    "A document whose latest transfer is transferred, queued or sending with the event's version "
    "(occurred_at) or a newer one gets no new transfer; every other document becomes a transfer like on "
    "the events route. Each result says per document what happened. 202 when something was queued, "
    "200 when everything was already there.",
    tags=["transfers"],
    responses=ok(200, "Nothing was missing: every document is transferred or on its way", EnsureResult)
    | ok(
        202,
        "Queued what was missing (see the per-document outcomes)",
        EnsureResult,
        errors={
            409: "The integration is disabled, or every event reused an id with another body (`conflict`)",
            422: "Invalid event(s): each problem in `details` (under `events.<index>` in a batch)",
            503: "Recorded but not queued (`temporarily_unavailable`): send the same events again (same ids)",
        },
    ),
)
def ensure_transferred(tenant_id: TenantId) -> Response[EnsureResult]:
    platform = current_platform(router)
    logger.append_keys(tenant_id=tenant_id)
    batch, events = _events_of_body()
    connection = _enabled_connection(platform.platform_id, tenant_id)
    results = wiring.intake().accept(connection, events, only_missing=True)
    accepted = sum(r.status == "accepted" for r in results)
    unchanged = sum(r.status == "unchanged" for r in results)
    metrics.add_metric(name="EventsAccepted", unit="Count", value=accepted)
    if not accepted and not unchanged:
        if not batch:
            err = results[0].answer["error"]
            status = HTTPStatus.CONFLICT if results[0].status == "conflict" else HTTPStatus.UNPROCESSABLE_ENTITY
            raise ApiError(status, err["code"], err["message"], err["details"])
        raise _none_accepted(results)
    body = EnsureResult(
        accepted=accepted,
        unchanged=unchanged,
        rejected=len(results) - accepted - unchanged,
        results=[
            EnsureEventResult(
                index=r.index,
                event_id=r.event_id,
                status=r.status,
                transfers=r.answer.get("transfers", []),
                documents=[EnsuredDocument.model_validate(d) for d in r.answer.get("documents", [])],
                error=_safe_error(r.answer.get("error")),
            )
            for r in results
        ],
    )
    status = HTTPStatus.ACCEPTED if accepted else HTTPStatus.OK
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body)


def _enabled_connection(platform_id: str, tenant_id: str) -> Connection:
    """The tenant's connection; events are refused (409) while its integration is disabled."""
    connection = wiring.connection(platform_id, tenant_id)
    if not connection.settings.enabled:
        raise Conflict("the integration is disabled for this tenant; enable it in the connection settings")
    return connection
