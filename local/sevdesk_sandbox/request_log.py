"""One entry per /api/v1 request. Deliberately has no headers, so the token never lands here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    path: str  # after /api/v1, e.g. "/Contact/41000"
    query: dict[str, str]
    json: Any
    status: int
    account_id: str | None
    at: datetime
    fault: str | None = None  # kind of the injected fault that hit this request, if any
    # Wall-clock seconds (time.time()) when the request arrived, and how long until its answer was ready
    # (an injected latency included): `at` is sevDesk's clock, whole seconds; these show rates and overlap.
    received: float = 0.0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "json": self.json,
            "status": self.status,
            "account_id": self.account_id,
            "at": self.at.isoformat(timespec="milliseconds"),
            "fault": self.fault,
            "received": round(self.received, 6),
            "seconds": round(self.seconds, 6),
        }
