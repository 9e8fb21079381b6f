"""Injected faults: what a flaky sevDesk (or the network in front of it) does to a request."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["latency", "status", "rate_limit", "timeout_after_commit", "status_after_commit"]
FAULT_KINDS: tuple[str, ...] = ("latency", "status", "rate_limit", "timeout_after_commit", "status_after_commit")


@dataclass
class Fault:
    """`path_pattern` is a regex searched in the path after /api/v1 (e.g. "^/Invoice/Factory").
    `times` is how many matching requests it hits; None means every one until cleared.
    `body="html"` makes a "status" fault answer like a proxy would (an HTML page, not JSON).

    Kinds: "latency" waits `delay_seconds`, then serves the request; "status" answers `status`
    without doing anything; "rate_limit" answers 429 (+ Retry-After) without doing anything;
    "timeout_after_commit" serves the request (a write commits), then waits `delay_seconds` before
    answering, so a client with a shorter timeout never sees the answer; "status_after_commit"
    serves the request (a write commits), then answers `status` instead of the real answer, like a
    proxy in front of sevDesk that dies after forwarding the write."""

    kind: FaultKind
    account_id: str | None = None
    method: str | None = None
    path_pattern: str | None = None
    status: int = 503
    retry_after: float | None = 1
    delay_seconds: float = 1.0
    times: int | None = 1
    body: Literal["envelope", "html"] = "envelope"
    fault_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if self.path_pattern is not None:
            try:  # fail at registration, not on the first request
                re.compile(self.path_pattern)
            except re.error as exc:
                raise ValueError(f"invalid path_pattern {self.path_pattern!r}: {exc}") from None
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (or null for unlimited)")

    def matches(self, account_id: str | None, method: str, path: str) -> bool:
        if self.account_id is not None and self.account_id != account_id:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_pattern is None or re.search(self.path_pattern, path) is not None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        allowed = {
            "kind",
            "account_id",
            "method",
            "path_pattern",
            "status",
            "retry_after",
            "delay_seconds",
            "times",
            "body",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        values = {key: value for key, value in data.items() if key in allowed}
        if "times" not in values:
            values["times"] = 1
        if values.get("kind") == "rate_limit" and "status" not in values:
            values["status"] = 429
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {
            "fault_id": self.fault_id,
            "kind": self.kind,
            "account_id": self.account_id,
            "method": self.method,
            "path_pattern": self.path_pattern,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay_seconds": self.delay_seconds,
            "times": self.times,
            "body": self.body,
        }
