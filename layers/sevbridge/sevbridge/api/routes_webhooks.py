"""Webhook routes (C3, M5): endpoints and secrets, test events, the delivery log, replay. Thin: parse, call
the use case (domain/notify/admin.py), shape the answer. Every route is scoped to the calling platform."""

from __future__ import annotations

import base64
import re
from typing import Annotated, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel

from sevbridge import wiring
from sevbridge.api.auth import current_platform
from sevbridge.api.params import IsoDateTime
from sevbridge.api.responses import link, ok
from sevbridge.api.schemas_webhooks import (
    BulkReplay,
    BulkReplayResult,
    DeliveryDetail,
    DeliveryList,
    DeliveryView,
    EndpointCreate,
    EndpointCreated,
    EndpointDeleted,
    EndpointList,
    EndpointPatch,
    EndpointView,
    SecretRotated,
)
from sevbridge.common.observability import logger
from sevbridge.domain.connection import TENANT_ID_PATTERN
from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.notify.deliveries import DeliveryStatus
from sevbridge.domain.notify.ports import DeliveryQuery
from sevbridge.domain.notify.types import NotificationType

M = TypeVar("M", bound=BaseModel)
router = Router()
TAGS = ["webhooks"]
ENDPOINTS = "/v1/webhooks/endpoints"
DELIVERIES = "/v1/webhooks/deliveries"
EndpointId = Annotated[
    str,
    Path(
        pattern=r"^(ep_[0-9a-f]{20}|tenant:[A-Za-z0-9][A-Za-z0-9._:@-]{0,127})$",
        description="`ep_…`, or `tenant:<tenant_id>` for a tenant's URL override",
    ),
]
DeliveryId = Annotated[str, Path(pattern=r"^dlv_[0-9a-f]{22}$", description="Delivery id")]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (1–200)")]
Cursor = Annotated[str | None, Query(max_length=512, description="Opaque: the `next_cursor` of the previous page")]
CHANGED_MEANWHILE = "Changed concurrently; send it again (`concurrent_update`)"
URL_REFUSED = (
    "Invalid input (`invalid_input`), e.g. a URL that is not public https (the local stack also allows loopback http)"
)


def _endpoint_links(endpoint_id: str) -> dict[str, object]:
    return {
        "GetEndpoint": link("get_webhook_endpoint", "Read the endpoint back", endpoint_id=endpoint_id),
        "SendTest": link("send_webhook_test", "Send it a `webhook.test` event", endpoint_id=endpoint_id),
        "RotateSecret": link("rotate_webhook_secret", "Rotate its signing secret", endpoint_id=endpoint_id),
        "UpdateEndpoint": link("update_webhook_endpoint", "Change it", endpoint_id=endpoint_id),
    }


def _delivery_links(delivery_id: str) -> dict[str, object]:
    return {
        "GetDelivery": link("get_webhook_delivery", "The delivery with every attempt", delivery_id=delivery_id),
        "ReplayDelivery": link("replay_webhook_delivery", "Send it again now", delivery_id=delivery_id),
    }


def _json(status: int, body: M) -> Response[M]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


# --- endpoints --------------------------------------------------------------------------------------
@router.post(
    ENDPOINTS,
    operation_id="create_webhook_endpoint",
    summary="Register a webhook endpoint",
    description="Answers 201 with the endpoint and its signing secret (`whsec_…`), shown only this once. "
    "Deliveries are signed per Standard Webhooks; see docs/webhooks.md.",
    tags=TAGS,
    responses=ok(
        201,
        "Created: the endpoint and its signing secret (shown only now)",
        EndpointCreated,
        links=_endpoint_links("$response.body#/endpoint_id"),
        errors={409: "The platform has 20 endpoints already (`conflict`)", 422: URL_REFUSED},
    ),
)
def create_endpoint(body: EndpointCreate) -> Response[EndpointCreated]:
    platform = current_platform(router)
    endpoint, secret = wiring.webhook_endpoints().create(
        platform.platform_id,
        url=body.url,
        event_types=body.event_types,
        tenant_ids=body.tenant_ids,
        enabled=body.enabled,
        description=body.description,
    )
    logger.info("webhook endpoint created", extra={"endpoint_id": endpoint.endpoint_id})
    view = EndpointView.of(endpoint, wiring.clock().now())
    return _json(201, EndpointCreated(**view.model_dump(), secret=secret))


@router.get(
    ENDPOINTS,
    operation_id="list_webhook_endpoints",
    summary="List webhook endpoints, then tenants' URL overrides",
    tags=TAGS,
    responses=ok(
        200,
        "Your endpoints, then one page of tenants' overrides; `next_cursor` is set while more follow",
        EndpointList,
        links={
            "GetEndpoint": link(
                "get_webhook_endpoint", "The first endpoint", endpoint_id="$response.body#/items/0/endpoint_id"
            ),
            "NextPage": link("list_webhook_endpoints", "The next page", cursor="$response.body#/next_cursor"),
        },
        errors={422: "Invalid parameter, or a `cursor` this list did not hand out (`invalid_input`)"},
    ),
)
def list_endpoints(
    limit: Annotated[
        int, Query(ge=1, le=200, description="Page size for tenants' overrides; your endpoints (≤ 20) come first")
    ] = 50,
    cursor: Cursor = None,
) -> EndpointList:
    platform = current_platform(router)
    items, last_tenant = wiring.webhook_endpoints().list_page(
        platform.platform_id, cursor=_tenant_cursor(cursor), limit=limit
    )
    now = wiring.clock().now()
    next_cursor = base64.urlsafe_b64encode(last_tenant.encode()).decode() if last_tenant else None
    return EndpointList(items=[EndpointView.of(e, now) for e in items], next_cursor=next_cursor)


@router.get(
    f"{ENDPOINTS}/<endpoint_id>",
    operation_id="get_webhook_endpoint",
    summary="One webhook endpoint",
    tags=TAGS,
    responses=ok(200, "The endpoint (never its secret)", EndpointView),
)
def get_endpoint(endpoint_id: EndpointId) -> EndpointView:
    platform = current_platform(router)
    return EndpointView.of(wiring.webhook_endpoints().get(platform.platform_id, endpoint_id), wiring.clock().now())


@router.patch(
    f"{ENDPOINTS}/<endpoint_id>",
    operation_id="update_webhook_endpoint",
    summary="Change an endpoint: URL, event types, tenants, description, enabled",
    description="Only the fields sent change. `enabled: true` re-enables an endpoint that was disabled after "
    "failing for days. A tenant override (`tenant:<id>`) only takes `enabled`; its URL is the tenant's "
    "settings.webhook_url.",
    tags=TAGS,
    responses=ok(200, "The endpoint as changed", EndpointView, errors={409: CHANGED_MEANWHILE, 422: URL_REFUSED}),
)
def patch_endpoint(endpoint_id: EndpointId, body: EndpointPatch) -> EndpointView:
    platform = current_platform(router)
    endpoint = wiring.webhook_endpoints().update(platform.platform_id, endpoint_id, body.changes())
    logger.info("webhook endpoint changed", extra={"endpoint_id": endpoint_id, "fields": sorted(body.changes())})
    return EndpointView.of(endpoint, wiring.clock().now())


@router.delete(
    f"{ENDPOINTS}/<endpoint_id>",
    operation_id="delete_webhook_endpoint",
    summary="Delete an endpoint (its pending deliveries end as failed)",
    tags=TAGS,
    responses=ok(
        200,
        "Deleted",
        EndpointDeleted,
        errors={409: "A tenant override is removed through the tenant's settings (`conflict`)"},
    ),
)
def delete_endpoint(endpoint_id: EndpointId) -> EndpointDeleted:
    platform = current_platform(router)
    wiring.webhook_endpoints().delete(platform.platform_id, endpoint_id)
    logger.info("webhook endpoint deleted", extra={"endpoint_id": endpoint_id})
    return EndpointDeleted(endpoint_id=endpoint_id)


@router.post(
    f"{ENDPOINTS}/<endpoint_id>/rotate-secret",
    operation_id="rotate_webhook_secret",
    summary="Rotate the signing secret; the previous one stays valid for 24 h",
    description="The new secret is shown only in this answer. For 24 h every delivery carries two signatures "
    "(`webhook-signature: v1,<new> v1,<old>`), so receivers can switch without missing a delivery.",
    tags=TAGS,
    responses=ok(200, "The new secret (shown only now)", SecretRotated, errors={409: CHANGED_MEANWHILE}),
)
def rotate_secret(endpoint_id: EndpointId) -> SecretRotated:
    platform = current_platform(router)
    endpoint, secret = wiring.webhook_endpoints().rotate_secret(platform.platform_id, endpoint_id)
    logger.info("webhook secret rotated", extra={"endpoint_id": endpoint_id})
    view = EndpointView.of(endpoint, wiring.clock().now())
    return SecretRotated(endpoint=view, secret=secret, previous_secret_expires_at=view.previous_secret_expires_at)


@router.post(
    f"{ENDPOINTS}/<endpoint_id>/test",
    operation_id="send_webhook_test",
    summary="Send a `webhook.test` event to this endpoint (also when it is disabled)",
    description="Answers 202 with the delivery; follow it with GET /v1/webhooks/deliveries/{delivery_id}.",
    tags=TAGS,
    responses=ok(202, "Queued", DeliveryView, links=_delivery_links("$response.body#/delivery_id")),
)
def send_test(endpoint_id: EndpointId) -> Response[DeliveryView]:
    platform = current_platform(router)
    delivery = wiring.webhook_endpoints().send_test(platform.platform_id, endpoint_id)
    return _json(202, DeliveryView.of(delivery))


# --- deliveries -------------------------------------------------------------------------------------
@router.get(
    DELIVERIES,
    operation_id="list_webhook_deliveries",
    summary="The delivery log, newest first, with filters",
    tags=TAGS,
    responses=ok(
        200,
        "One page of deliveries, newest first; `next_cursor` is set while more pages follow",
        DeliveryList,
        links={
            **_delivery_links("$response.body#/items/0/delivery_id"),
            "NextPage": link("list_webhook_deliveries", "The next page", cursor="$response.body#/next_cursor"),
        },
        errors={422: "Invalid filter, or a `cursor` this list did not hand out (`invalid_input`)"},
    ),
)
def list_deliveries(
    endpoint_id: Annotated[str | None, Query(max_length=160, description="Only this endpoint")] = None,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_ID_PATTERN, description="Only this tenant")] = None,
    status: Annotated[DeliveryStatus | None, Query(description="pending · succeeded · failed · exhausted")] = None,
    type: Annotated[NotificationType | None, Query(description="Event type")] = None,
    since: Annotated[IsoDateTime | None, Query(description="Created at or after (ISO 8601 with offset)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Created before (ISO 8601 with offset)")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryList:
    platform = current_platform(router)
    query = DeliveryQuery(
        endpoint_id=endpoint_id,
        tenant_id=tenant_id,
        statuses=frozenset({status}) if status else None,
        type=type,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    page = wiring.webhook_deliveries().search(platform.platform_id, query)
    return DeliveryList(items=[DeliveryView.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.post(
    f"{DELIVERIES}/replay",
    operation_id="replay_failed_webhook_deliveries",
    summary="Replay every failed or exhausted delivery since a time",
    description="Oldest first, up to 500 per call (`more: true`: call again). Deliveries of deleted or disabled "
    "endpoints are skipped; enable the endpoint first.",
    tags=TAGS,
    responses=ok(202, "The deliveries queued again (none if none had failed)", BulkReplayResult),
)
def replay_failed(body: BulkReplay) -> Response[BulkReplayResult]:
    platform = current_platform(router)
    statuses = frozenset(DeliveryStatus(s) for s in (body.statuses or ["failed", "exhausted"]))
    report = wiring.webhook_deliveries().replay_failed(
        platform.platform_id,
        since=body.since,
        until=body.until,
        endpoint_id=body.endpoint_id,
        tenant_id=body.tenant_id,
        statuses=statuses,
    )
    logger.info("webhook deliveries replayed", extra={"replayed": len(report.replayed), "skipped": report.skipped})
    result = BulkReplayResult(
        replayed=len(report.replayed),
        skipped=report.skipped,
        more=report.more,
        deliveries=[DeliveryView.of(d) for d in report.replayed],
    )
    return _json(202, result)


@router.get(
    f"{DELIVERIES}/<delivery_id>",
    operation_id="get_webhook_delivery",
    summary="One delivery with every attempt and the payload",
    tags=TAGS,
    responses=ok(200, "The delivery", DeliveryDetail),
)
def get_delivery(delivery_id: DeliveryId) -> DeliveryDetail:
    platform = current_platform(router)
    return DeliveryDetail.of(wiring.webhook_deliveries().get(platform.platform_id, delivery_id))


@router.post(
    f"{DELIVERIES}/<delivery_id>/replay",
    operation_id="replay_webhook_delivery",
    summary="Send a delivery again now (same webhook-id and body, a new round of attempts)",
    tags=TAGS,
    responses=ok(
        202,
        "Queued again",
        DeliveryView,
        links={"GetDelivery": link("get_webhook_delivery", "Follow it", delivery_id="$response.body#/delivery_id")},
        errors={409: "The endpoint was deleted or is disabled (`conflict`)"},
    ),
)
def replay_delivery(delivery_id: DeliveryId) -> Response[DeliveryView]:
    platform = current_platform(router)
    delivery = wiring.webhook_deliveries().replay(platform.platform_id, delivery_id)
    logger.info("webhook delivery replayed", extra={"delivery_id": delivery_id})
    return _json(202, DeliveryView.of(delivery))


_TENANT = re.compile(TENANT_ID_PATTERN)


def _tenant_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        tenant = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        tenant = ""
    if not _TENANT.fullmatch(tenant):
        raise InvalidInput(
            "cursor is not valid", details=[{"field": "query.cursor", "problem": "not a cursor from this API"}]
        )
    return tenant
