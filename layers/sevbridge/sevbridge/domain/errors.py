"""Typed domain errors. The API maps each class to one HTTP status in one place (api/errors.py)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: `code` is stable and machine-readable, `message` is safe to show to platforms.
    `retry_after` (seconds) tells the caller when the same request can succeed, where we know."""

    code = "error"

    def __init__(
        self, message: str, *, details: list[dict[str, Any]] | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.retry_after = retry_after


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    code = "invalid_input"


class Conflict(DomainError):
    code = "conflict"


class ConcurrentUpdate(Conflict):
    """The item changed between our read and our write; re-read and try again."""

    code = "concurrent_update"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class ConnectionRejected(DomainError):
    """sevDesk refused the token offered for a connection (C2 reasons live in `details`)."""

    code = "connection_rejected"


class RateLimited(DomainError):
    """The caller did something too often (e.g. offered rejected tokens); `retry_after` says when to
    try again. Caused by the caller, unlike UpstreamUnavailable."""

    code = "rate_limited"


class UpstreamUnavailable(DomainError):
    """sevDesk could not be reached or answered with a server error."""

    code = "sevdesk_unavailable"


class TemporarilyUnavailable(DomainError):
    """One of our own dependencies (queue, database) failed; the request can be retried as it is."""

    code = "temporarily_unavailable"


class DocumentBusy(TemporarilyUnavailable):
    """Another transfer of the same document is being sent — a backfill's unexpired claim, or (for a
    backfill's claim) a live transfer still pending on the transfer queue, `live_pending` = its id: this
    one waits and comes back after `retry_after` seconds. Not a failure and not an attempt."""

    code = "document_busy"

    def __init__(self, message: str, *, retry_after: float | None = None, live_pending: str | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.live_pending = live_pending


class TransferGone(NotFound):
    """The transfer's ledger row no longer exists (its tenant was offboarded while it ran)."""

    code = "transfer_gone"


class Gone(DomainError):
    """What the request points at existed but is no longer kept (e.g. an expired change-feed cursor)."""

    code = "gone"
