"""Path parameters shared by the routes."""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AwareDatetime, BeforeValidator

from sevbridge.domain.connection import TENANT_ID_PATTERN

TenantId = Annotated[
    str,
    Path(
        pattern=TENANT_ID_PATTERN,
        description="The platform's own id for its customer: 1–128 of A-Z a-z 0-9 . _ : @ -",
        examples=["school-42"],
    ),
]

# The same parameter with another example: a reader (or a tool) trying the examples in order should not
# offboard the tenant the other examples use.
OffboardedTenantId = Annotated[
    str,
    Path(
        pattern=TENANT_ID_PATTERN,
        description="The platform's own id for its customer: 1–128 of A-Z a-z 0-9 . _ : @ -",
        examples=["school-43"],
    ),
]


def _not_a_number(value: Any) -> Any:
    # Pydantic reads 0, "0" or "1.5" as Unix time; the document promises ISO 8601 (RFC 3339) date-times.
    if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", value)):
        raise ValueError("must be an ISO 8601 date-time with offset, e.g. 2026-11-21T14:00:00Z")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
