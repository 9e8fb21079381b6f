"""EventBridge schedules as local timers: each Schedule event runs its handler every rate() interval."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_stack.provision import ScheduleSource
    from local_stack.runtime import FunctionRuntime

log = logging.getLogger("local_stack.schedule")

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of a rate() expression; None for cron() and anything else."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def scheduled_event(rule_arn: str, *, account_id: str, region: str, now: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends to a target of a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduleRunner:
    """Runs one schedule. Like EventBridge, the first run is one interval after start."""

    def __init__(
        self,
        source: ScheduleSource,
        runtime: FunctionRuntime,
        *,
        interval_seconds: float,
        account_id: str,
        region: str,
        stop: threading.Event,
    ) -> None:
        self._source = source
        self._runtime = runtime
        self._interval = interval_seconds
        self._rule_arn = f"arn:aws:events:{region}:{account_id}:rule/{source.rule_name}"
        self._account_id = account_id
        self._region = region
        self._stop = stop
        self._thread = threading.Thread(target=self._run, name=f"schedule-{source.rule_name}", daemon=True)

    @property
    def interval_seconds(self) -> float:
        return self._interval

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.run_once()

    def run_once(self) -> None:
        event = scheduled_event(self._rule_arn, account_id=self._account_id, region=self._region)
        try:
            self._runtime.invoke(event)
            log.info("%s ran (%s)", self._runtime.name, self._source.rule_name)
        except Exception:
            # An asynchronous invocation: on AWS the error lands in the function's log and metrics.
            log.exception("%s failed on its schedule", self._runtime.name)
