"""Path parameters shared by the routes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from sevbridge.domain.connection import TENANT_ID_PATTERN

TenantId = Annotated[
    str,
    Path(
        pattern=TENANT_ID_PATTERN,
        description="The platform's own id for its customer: 1–128 of A-Z a-z 0-9 . _ : @ -",
    ),
]
