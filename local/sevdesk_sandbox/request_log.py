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
        }
