"""Powertools Logger, Tracer and Metrics shared by every function.

Secrets are never logged on purpose; as a last line of defence the log serializer also masks anything
shaped like a sevDesk token (32 hex characters), a platform API key (sbk_…) or a webhook signing secret
(whsec_…) before a line is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "sevbridge"
_SECRET_PATTERNS = (
    re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])"),
    re.compile(r"sbk_[A-Za-z0-9_\-]{20,}"),
    re.compile(r"whsec_[A-Za-z0-9+/=]{20,}"),
)


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[REDACTED]", text)
    return text


def _redacting_json(value: dict[str, Any]) -> str:
    return redact(json.dumps(value, default=str, separators=(",", ":")))


logger = Logger(service=SERVICE, json_serializer=_redacting_json)
# X-Ray patches only what sevbridge calls: botocore here, httpx when a function first builds an httpx
# client (`trace_httpx`, from the composition root). The default (patch every supported library) imports
# httpx — and sqlite3 — on every cold start, also in the api, which calls sevDesk only to test a token.
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
metrics = Metrics(namespace=SERVICE, service=SERVICE)


def trace_httpx() -> None:
    """Trace sevDesk and webhook calls: before the first httpx client is built (X-Ray's patch swaps
    `httpx.Client`; clients built earlier stay untraced). Idempotent; a no-op while tracing is off."""
    tracer.patch(["httpx"])
