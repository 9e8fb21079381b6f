"""Errors the sevDesk client raises, owned by the domain so use cases can react to them
without importing the HTTP library. Messages carry sevDesk's own text, never the token."""

from __future__ import annotations

# A 429 without Retry-After, after the client's own retries: how long the tenant's work waits.
DEFAULT_RATE_LIMIT_PAUSE = 30.0


class SevdeskError(Exception):
    """Base class. `status` is the HTTP status (None for network errors)."""

    retryable = False
    # True when a write may have reached sevDesk but its result is unknown (5xx or a timeout after
    # sending): the caller must look the object up in sevDesk before creating it again.
    outcome_unknown: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        exception_uuid: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.exception_uuid = exception_uuid
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"HTTP {self.status}: " if self.status is not None else ""
        unknown = " (outcome unknown: sevDesk may have applied it; look it up before resending)"
        return f"{where}{status}{self.message}{unknown if self.outcome_unknown else ''}"

    @property
    def pause_seconds(self) -> float | None:
        """Set when sevDesk (or our brake) asked us to wait: the work is delayed, it did not fail."""
        return None


class SevdeskAuthError(SevdeskError):
    """401/403: the tenant's token is invalid, rotated or lacks API access (C3)."""


class SevdeskValidationError(SevdeskError):
    """400/409/422 (and other 4xx): sevDesk rejected the request; never retried blindly."""


class SevdeskNotFound(SevdeskError):
    """404, or 400 with code NOT_FOUND / 151: the object does not exist."""


class SevdeskRateLimited(SevdeskError):
    """429 after all retries. `retry_after` is sevDesk's hint in seconds, if it sent one."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after

    @property
    def pause_seconds(self) -> float | None:
        return self.retry_after if self.retry_after is not None else DEFAULT_RATE_LIMIT_PAUSE


class SevdeskServerError(SevdeskError):
    """5xx after all retries. For writes the outcome is unknown: sevDesk may have committed."""

    retryable = True


class SevdeskNetworkError(SevdeskError):
    """Connect/read timeout or connection error after all retries; for writes the outcome is unknown."""

    retryable = True


class SevdeskBrakeEngaged(SevdeskError):
    """Our own per-tenant brake: too many errors in a short window, calls paused to protect the token."""

    retryable = True

    def __init__(self, message: str, *, resume_in: float) -> None:
        super().__init__(message)
        self.resume_in = resume_in

    @property
    def pause_seconds(self) -> float | None:
        return self.resume_in


class TokenTestsExhausted(SevdeskError):
    """Our own limit on token tests: too many tokens sevDesk rejected for one tenant or platform in a short
    window; sevDesk is not asked until `retry_after` seconds have passed. Caused by the caller."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SevdeskOutOfTime(SevdeskError):
    """Not sent: the invocation has too little time left for another sevDesk call (the worker hands
    the transfer back to the queue instead of being killed mid-call)."""

    retryable = True
