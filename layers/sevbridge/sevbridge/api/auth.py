"""The gate in front of the resolver: body size limit, platform authentication, then the body rule.

It runs before Powertools' request validation, so an unauthenticated caller learns nothing about the
routes' bodies, and every route (present and future) gets the same body rule (`request_body.py`).
Every /v1 route needs `Authorization: Bearer <platform key>`; the resolved platform goes into the
resolver's context and routes scope every read and write to it, so a platform cannot see another
platform's tenants (they get 404, as if the tenant did not exist)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from sevbridge import wiring
from sevbridge.api.errors import as_proxy, domain_error_response, error_response
from sevbridge.api.request_body import BodyRefused, body_bytes, check_body, header
from sevbridge.common.observability import logger
from sevbridge.config import get_settings
from sevbridge.domain.errors import Unauthenticated
from sevbridge.domain.platform import Platform
from sevbridge.domain.platforms import authenticate

PUBLIC_PATHS = frozenset({"/v1/openapi.json", "/v1/docs"})


def gate(event: dict[str, Any]) -> tuple[Platform | None, dict[str, Any] | None]:
    """Returns (platform, None) to go on, or (None, proxy response) to answer right away."""
    if event.get("path") in PUBLIC_PATHS:
        return None, None
    limit = get_settings().max_body_bytes
    try:
        raw = body_bytes(event)
    except BodyRefused as refused:
        return None, as_proxy(refused.response)
    if len(raw) > limit:
        return None, as_proxy(
            error_response(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "body_too_large",
                f"request body exceeds {limit} bytes",
                [{"field": "body", "problem": f"larger than {limit} bytes"}],
            )
        )
    try:
        platform = authenticate(wiring.platform_store(), header(event, "Authorization"))
    except Unauthenticated as exc:
        return None, as_proxy(domain_error_response(exc))
    logger.append_keys(platform_id=platform.platform_id)
    try:
        check_body(event, raw)
    except BodyRefused as refused:
        return None, as_proxy(refused.response)
    return platform, None


def current_platform(router: BaseRouter) -> Platform:
    platform = router.context.get("platform")
    if not isinstance(platform, Platform):  # the gate runs before every route
        raise Unauthenticated("not authenticated")
    return platform
