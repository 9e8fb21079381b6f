"""Injected faults: what a flaky sevDesk (or the network in front of it) does to a request."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "latency",
    "status",
    "rate_limit",
    "timeout_after_commit",
    "status_after_commit",
    "drop",
    "drop_after_commit",
]
FAULT_KINDS: tuple[str, ...] = (
    "latency",
    "status",
    "rate_limit",
    "timeout_after_commit",
    "status_after_commit",
    "drop",
    "drop_after_commit",
)
# Kinds that let the request do its work first (a write commits), then spoil the answer.
AFTER_COMMIT_KINDS = frozenset({"timeout_after_commit", "status_after_commit", "drop_after_commit"})
_FIELDS = (
    "kind",
    "account_id",
    "method",
    "path_pattern",
    "status",
    "retry_after",
    "delay_seconds",
    "times",
    "probability",
    "seed",
    "body",
)


@dataclass
class Fault:
    """`path_pattern` is a regex searched in the path after /api/v1 (e.g. "^/Invoice/Factory").
    `times` is how many matching requests it hits; None means every one until cleared.
    `probability` (0 < p ≤ 1) makes it hit only that share of the matching requests, drawn from its
    own random generator, seeded with `seed` for reproducible runs; `hits` counts what it did.
    `body="html"` makes a "status" fault answer like a proxy would (an HTML page, not JSON).

    Kinds: "latency" waits `delay_seconds`, then serves the request; "status" answers `status`
    without doing anything; "rate_limit" answers 429 (+ Retry-After) without doing anything;
    "timeout_after_commit" serves the request (a write commits), then waits `delay_seconds` before
    answering, so a client with a shorter timeout never sees the answer; "status_after_commit"
    serves the request (a write commits), then answers `status` instead of the real answer, like a
    proxy in front of sevDesk that dies after forwarding the write; "drop" closes the connection
    without doing anything or answering; "drop_after_commit" serves the request (a write commits),
    then closes the connection without an answer: the client sees a dropped connection at once."""

    kind: FaultKind
    account_id: str | None = None
    method: str | None = None
    path_pattern: str | None = None
    status: int = 503
    retry_after: float | None = 1
    delay_seconds: float = 1.0
    times: int | None = 1
    probability: float | None = None
    seed: int | None = None
    body: Literal["envelope", "html"] = "envelope"
    fault_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hits: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

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
        if self.probability is not None and not 0 < self.probability <= 1:
            raise ValueError("probability must be > 0 and <= 1 (or null for every matching request)")
        self._rng = random.Random(self.seed)

    @property
    def after_commit(self) -> bool:
        return self.kind in AFTER_COMMIT_KINDS

    def matches(self, account_id: str | None, method: str, path: str) -> bool:
        if self.account_id is not None and self.account_id != account_id:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_pattern is None or re.search(self.path_pattern, path) is not None

    def strikes(self) -> bool:
        """Whether this matching request is hit (always, unless a probability is set)."""
        return self.probability is None or self._rng.random() < self.probability

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        values = {key: value for key, value in data.items() if key in _FIELDS}
        if "times" not in values:
            # A fault with a probability is a standing condition; a plain one hits once by default.
            values["times"] = None if values.get("probability") is not None else 1
        if values.get("kind") == "rate_limit" and "status" not in values:
            values["status"] = 429
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {
            "fault_id": self.fault_id,
            **{name: getattr(self, name) for name in _FIELDS},
            "hits": self.hits,
        }
