"""Platform authentication middleware: every /v1 route needs `Authorization: Bearer <platform key>`.

The resolved platform goes into the resolver's context; routes scope every read and write to it, so a
platform cannot see another platform's tenants (they get 404, as if the tenant did not exist)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from sevbridge import wiring
from sevbridge.api.errors import domain_error_response, error_response
from sevbridge.common.observability import logger
from sevbridge.config import get_settings
from sevbridge.domain.errors import Unauthenticated
from sevbridge.domain.platform import Platform
from sevbridge.domain.platforms import authenticate

PUBLIC_PATHS = frozenset({"/v1/openapi.json", "/v1/docs"})


def require_platform(app: BaseRouter, next_middleware: Callable[..., Response[str]]) -> Response[str]:
    event = app.current_event
    if event.path in PUBLIC_PATHS:
        return next_middleware(app)
    body = event.body or ""
    if len(body.encode()) > get_settings().max_body_bytes:
        return error_response(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "body_too_large",
            f"request body exceeds {get_settings().max_body_bytes} bytes",
            [{"field": "body", "problem": f"larger than {get_settings().max_body_bytes} bytes"}],
        )
    try:
        platform = authenticate(wiring.platform_store(), event.headers.get("Authorization") or event.headers.get("authorization"))
    except Unauthenticated as exc:
        return domain_error_response(exc)
    app.append_context(platform=platform)
    logger.append_keys(platform_id=platform.platform_id)
    return next_middleware(app)


def current_platform(router: BaseRouter) -> Platform:
    platform = router.context.get("platform")
    if not isinstance(platform, Platform):  # the middleware runs before every route
        raise Unauthenticated("not authenticated")
    return platform
