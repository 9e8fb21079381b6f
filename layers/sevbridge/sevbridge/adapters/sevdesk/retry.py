"""When to resend a sevDesk request, and how long to wait first.

Every failed attempt is classified by the client before it raises:
- NOT_SENT   connect error/timeout: sevDesk never saw the request → always safe to resend.
- THROTTLED  429: sevDesk refused it → resend in-process only after a short wait (Retry-After, or
             backoff, up to max_throttle_wait ≈ 1 s) and only with time left for it; a longer hint
             raises SevdeskRateLimited at once, so the worker hands the tenant's work back to its
             queue for that long (a pause, not an attempt) and goes on with other tenants meanwhile.
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


# A 429's wait is spent in-process only up to this long: sleeping longer would hold up every other
# tenant behind this one in the worker; the queue waits for longer hints instead.
DEFAULT_MAX_THROTTLE_WAIT = 1.0


class RetryPolicy:
    def __init__(
        self,
        *,
        max_attempts: int,
        max_backoff: float,
        sleep: Callable[[float], None],
        max_throttle_wait: float = DEFAULT_MAX_THROTTLE_WAIT,
        time_left: Callable[[], float] | None = None,
        longest_call: float = 0.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.max_throttle_wait = min(max_throttle_wait, max_backoff)
        self._sleep = sleep
        self._time_left = time_left
        self._longest_call = longest_call
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
            return self._waits_for_throttle(exc)
        if failure is Failure.UNKNOWN:
            return state.replay_safe
        return False

    def _waits_for_throttle(self, exc: SevdeskError) -> bool:
        """A 429 is waited for here only if sevDesk's hint is short and the invocation has time for the
        wait and the call after it; otherwise the caller pauses the tenant's work for `retry_after`."""
        retry_after = exc.retry_after if isinstance(exc, SevdeskRateLimited) else None
        if retry_after is not None and retry_after > self.max_throttle_wait:
            return False
        wait = self.max_throttle_wait if retry_after is None else retry_after
        return self._time_left is None or self._time_left() > wait + self._longest_call

    def _wait(self, retry_state: RetryCallState) -> float:
        backoff = float(self._backoff(retry_state))
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, SevdeskRateLimited):
            at_least = exc.retry_after if exc.retry_after is not None else 0.0
            return min(max(at_least, backoff), self.max_throttle_wait)
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
