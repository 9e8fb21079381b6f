"""Starts and stops the whole local stack, in dependency order."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from local_stack.aws import MotoService, point_boto3_at
from local_stack.gateway import LocalApiGateway
from local_stack.options import Options
from local_stack.pollers import SqsPoller
from local_stack.provision import DEFAULT_REGION, ProvisionedStack, provision
from local_stack.runtime import FunctionRuntime
from local_stack.sandbox import SandboxService
from local_stack.schedules import ScheduleRunner, rate_seconds

log = logging.getLogger("local_stack")

# Local-only defaults: there is no X-Ray daemon, and EMF metric blobs would drown the logs.
# setdefault semantics: a developer can still turn either back on from the shell.
LOCAL_POWERTOOLS_DEFAULTS = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
# Webhooks may go to receivers on this machine (http://127.0.0.1, e.g. `sevbridge webhooks listen`).
# Only the local stack sets this; it is no default anywhere, so deployed webhooks go to public https URLs.
LOCAL_SETTINGS = {"WEBHOOK_ALLOW_LOOPBACK": "true"}


@dataclass(frozen=True)
class StackFacts:
    """What a developer or a test needs to talk to the running stack; written to stack.json."""

    api_url: str
    platform_id: str
    platform_api_key: str
    sevdesk_sandbox_url: str
    sevdesk_sandbox_admin_url: str
    sevdesk_account_id: str
    sevdesk_token: str
    sevdesk_base_url: str
    moto_url: str
    region: str
    pid: int
    environment: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class LocalStack:
    def __init__(self, options: Options) -> None:
        self._options = options
        self._stop = threading.Event()
        self._cleanups = contextlib.ExitStack()
        self.facts: StackFacts | None = None

    def start(self) -> StackFacts:
        try:
            self.facts = self._start()
        except BaseException:
            self.stop()
            raise
        return self.facts

    def stop(self) -> None:
        """Stops everything started so far, newest first; safe to call more than once."""
        self._stop.set()
        self._cleanups.close()

    def _on_stop(self, name: str, callback: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                callback()
            except Exception:
                log.exception("stopping %s failed", name)

        self._cleanups.callback(guarded)

    def _start(self) -> StackFacts:
        options = self._options
        options.state_file.unlink(missing_ok=True)  # a stale file would look like a running stack

        moto = MotoService(options.host, options.moto_port)
        moto_url = moto.start()
        self._on_stop("moto", moto.stop)
        point_boto3_at(moto_url, DEFAULT_REGION)

        sandbox = SandboxService(options.host, options.sandbox_port)
        sandbox.start()
        self._on_stop("sevDesk sandbox", sandbox.stop)
        sevdesk_base_url = options.sevdesk_base_url or sandbox.server.url

        stack = provision(options.template, parameters=options.template_parameters(sevdesk_base_url))
        _apply_environment(stack, _time_scale(options, stack))

        # Imported only now: the sevbridge package must see the environment set above.
        from local_stack.bootstrap import create_demo_platform

        platform = create_demo_platform(stack.tables["PlatformsTable"])
        account = sandbox.create_demo_account()

        pollers = {id(source): options.pollers_for(source.maximum_concurrency) for source in stack.sqs_sources}
        concurrency = {
            logical_id: max([1] + [pollers[id(s)] for s in stack.sqs_sources if s.function == logical_id])
            for logical_id in stack.functions
        }
        runtimes = {
            logical_id: FunctionRuntime(fn, concurrency=concurrency[logical_id])
            for logical_id, fn in stack.functions.items()
        }
        gateway = LocalApiGateway(stack.api_routes, runtimes, host=options.host, port=options.api_port)
        gateway.start()
        self._on_stop("api gateway", gateway.stop)

        # Like Lambda's event source mapping, several batches of a queue run at once (FIFO: never two of
        # one message group, which moto_fixes guarantee under concurrent receives).
        for source in stack.sqs_sources:
            for n in range(pollers[id(source)]):
                poller = SqsPoller(source, runtimes[source.function], region=stack.region, stop=self._stop, index=n)
                poller.start()
                self._on_stop(f"poller {source.queue.name} #{n}", functools.partial(poller.join, timeout=5))

        schedules: dict[str, float] = {}
        for schedule in stack.schedules:
            interval = options.schedule_seconds or rate_seconds(schedule.expression)
            if not schedule.enabled or interval is None:
                log.warning("schedule %s (%s) is not run locally", schedule.rule_name, schedule.expression)
                continue
            runner = ScheduleRunner(
                schedule,
                runtimes[schedule.function],
                interval_seconds=interval,
                account_id=stack.account_id,
                region=stack.region,
                stop=self._stop,
            )
            runner.start()
            self._on_stop(f"schedule {schedule.rule_name}", functools.partial(runner.join, timeout=5))
            schedules[stack.functions[schedule.function].name] = interval

        facts = StackFacts(
            api_url=gateway.url,
            platform_id=platform.platform_id,
            platform_api_key=platform.api_key,
            sevdesk_sandbox_url=sandbox.server.url,
            sevdesk_sandbox_admin_url=sandbox.server.admin_url,
            sevdesk_account_id=account.account_id,
            sevdesk_token=account.token,
            sevdesk_base_url=sevdesk_base_url,
            moto_url=moto_url,
            region=stack.region,
            pid=os.getpid(),
            environment=stack.environment(),
            schedules=schedules,
        )
        _write_atomically(options.state_file, json.dumps(facts.to_json(), indent=2) + "\n")
        self._on_stop("state file", lambda: options.state_file.unlink(missing_ok=True))
        return facts


def _time_scale(options: Options, stack: ProvisionedStack) -> str | None:
    """SEVBRIDGE_SCHEDULE_SECONDS shortens the import schedule; tenants' import intervals and
    reconciliation periods shrink by the same factor (IMPORT_TIME_SCALE), so a tenant with the default
    15-minute interval is imported on every shortened tick."""
    rates = [rate_seconds(s.expression) for s in stack.schedules]
    known = [rate for rate in rates if rate]
    if options.schedule_seconds is None or not known:
        return None
    return str(min(1.0, options.schedule_seconds / max(known)))


def _apply_environment(stack: ProvisionedStack, time_scale: str | None = None) -> None:
    os.environ.update(stack.environment())
    if time_scale is not None:
        os.environ["IMPORT_TIME_SCALE"] = time_scale
    for name, value in (LOCAL_POWERTOOLS_DEFAULTS | LOCAL_SETTINGS).items():
        os.environ.setdefault(name, value)
    # The handlers cache settings and clients per execution environment; start from a clean slate.
    from sevbridge import wiring

    wiring.reset()


def _write_atomically(path: Path, text: str) -> None:
    # Readers (tests, scripts) poll for this file; they must never see it half-written.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
