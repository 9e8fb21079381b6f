"""When to resend a sevDesk request, and how long to wait first.

Every failed attempt is classified by the client before it raises:
- NOT_SENT   connect error/timeout: sevDesk never saw the request → always safe to resend.
- THROTTLED  429: sevDesk refused it → resend after Retry-After (or backoff), unless that is longer
             than max_backoff; then the caller's queue retries much later.
- UNKNOWN    5xx or a failure after the request left (read timeout, dropped connection): sevDesk may
             have applied it → resend only if the request is safe to repeat (GET/DELETE, PUT unless
             the caller says otherwise, POST only when the caller opts in). Money data depends on it.
- FINAL      any other 4xx (incl. 401), local errors, the brake: never resent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from sevbridge.adapters.sevdesk.errors import mark_outcome_unknown
from sevbridge.domain.sevdesk_errors import SevdeskError, SevdeskRateLimited

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Failure(Enum):
    NOT_SENT = "not_sent"
    THROTTLED = "throttled"
    UNKNOWN = "unknown"
    FINAL = "final"


@dataclass
class CallState:
    """What the attempts of one logical call have learned so far."""

    method: str
    path: str
    replay_safe: bool
    attempts: int = 0
    last_failure: Failure = Failure.FINAL
    # Some attempt may have been applied by sevDesk; stays True even if a later attempt fails cleanly.
    maybe_applied: bool = False

    def failed(self, failure: Failure) -> None:
        self.last_failure = failure
        if failure is Failure.UNKNOWN:
            self.maybe_applied = True


class RetryPolicy:
    def __init__(self, *, max_attempts: int, max_backoff: float, sleep: Callable[[float], None]) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self._sleep = sleep
        # Full jitter spreads retries of many tenants hitting the same sevDesk hiccup.
        self._backoff = wait_random_exponential(multiplier=0.5, max=max_backoff)

    def run(self, attempt: Callable[[], T], state: CallState) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._should_retry(exc, state)),
            sleep=self._sleep,
            before_sleep=lambda rs: self._log_retry(rs, state),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except SevdeskError as exc:
            # A GET changes nothing, so only writes carry the "look it up before resending" flag.
            if state.maybe_applied and state.method != "GET":
                mark_outcome_unknown(exc)
            raise

    def _should_retry(self, exc: BaseException, state: CallState) -> bool:
        if not isinstance(exc, SevdeskError):
            return False
        failure = state.last_failure
        if failure is Failure.NOT_SENT:
            return True
        if failure is Failure.THROTTLED:
            retry_after = exc.retry_after if isinstance(exc, SevdeskRateLimited) else None
            return retry_after is None or retry_after <= self.max_backoff
        if failure is Failure.UNKNOWN:
            return state.replay_safe
        return False

    def _wait(self, retry_state: RetryCallState) -> float:
        backoff = float(self._backoff(retry_state))
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, SevdeskRateLimited) and exc.retry_after is not None:
            return min(max(exc.retry_after, backoff), self.max_backoff)
        return backoff

    def _log_retry(self, retry_state: RetryCallState, state: CallState) -> None:
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.info(
            "sevdesk retry %s %s after %s (attempt %d, waiting %.2fs)",
            state.method,
            state.path,
            state.last_failure.value,
            retry_state.attempt_number,
            wait,
            extra={"method": state.method, "path": state.path, "attempt": retry_state.attempt_number},
        )
