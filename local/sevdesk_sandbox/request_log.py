"""One entry per /api/v1 request. Deliberately has no headers, so the token never lands here.

The functions below read a log the way sevDesk would count a client: requests on the wire at once and
requests per second, from each entry's arrival (`received`) and duration (`seconds`)."""

from __future__ import annotations

from collections.abc import Sequence
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


def most_on_the_wire(log: Sequence[RequestLogEntry]) -> int:
    """The most requests that were on the wire at the same moment."""
    edges = sorted([(r.received, 1) for r in log] + [(r.received + r.seconds, -1) for r in log])
    most = current = 0
    for _, step in edges:  # an end sorts before a start at the same moment
        current += step
        most = max(most, current)
    return most


def overlaps(log: Sequence[RequestLogEntry]) -> list[tuple[float, float]]:
    """The periods in which two requests were on the wire at once."""
    spans = sorted((r.received, r.received + r.seconds) for r in log)
    found = []
    for i, (_, end) in enumerate(spans):
        for other_start, other_end in spans[i + 1 :]:
            if other_start >= end:
                break
            found.append((other_start, min(end, other_end)))
    return found


def busiest_second(log: Sequence[RequestLogEntry], *, overlapped_only: bool = False) -> int:
    """The most arrivals in any one-second window; `overlapped_only`: among windows in which two requests
    were on the wire at once (the others hold a serial stream)."""
    arrivals = sorted(r.received for r in log)
    periods = overlaps(log) if overlapped_only else []
    most, first = 0, 0
    for last, at in enumerate(arrivals):  # the busiest window ends with an arrival
        while at - arrivals[first] >= 1.0:
            first += 1
        count = last - first + 1
        if count <= most:
            continue
        # Some one-second window holding these arrivals lies anywhere in (at - 1, arrivals[first] + 1).
        earliest, latest = at - 1.0, arrivals[first] + 1.0
        if not overlapped_only or any(start < latest and end > earliest for start, end in periods):
            most = count
    return most
