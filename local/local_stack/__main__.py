"""`python -m local_stack` (= `make run`): the whole of sevbridge on this machine, no AWS account.

Ctrl-C or SIGTERM stops everything and exits 0; a second Ctrl-C exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import warnings
from types import FrameType

from local_stack.options import Options, OptionsError
from local_stack.stack import LocalStack, StackFacts

log = logging.getLogger("local_stack")


def main() -> int:
    _configure_logging()
    try:
        options = Options.from_env(os.environ)
    except OptionsError as error:
        log.error("%s", error)
        return 2

    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stop_requested.is_set():
            os._exit(130)  # second Ctrl-C: the user does not want to wait for a clean stop
        log.info("%s received, stopping", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    stack = LocalStack(options)
    try:
        facts = stack.start()
    except OSError as error:
        log.error(
            "the local stack did not start: %s (is another one running? see SEVBRIDGE_PORT, "
            "SEVDESK_SANDBOX_PORT, MOTO_PORT)",
            error,
        )
        return 1
    except Exception:
        log.exception("the local stack did not start")
        return 1
    _print_banner(facts, options)
    while not stop_requested.wait(0.5):
        pass
    stack.stop()
    log.info("stopped")
    return 0


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)-5s %(name)-22s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # One line per request comes from our gateway; the servers' own access logs would double it
    # (and moto's would add a line for every AWS call the handlers make).
    # Powertools warns on every invocation that flushes no metrics; locally metrics are off anyway.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3", "moto", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _print_banner(facts: StackFacts, options: Options) -> None:
    schedules = ", ".join(f"{name} every {seconds:g} s" for name, seconds in facts.schedules.items())
    lines = [
        "",
        "sevbridge local stack is running",
        f"  API             {facts.api_url}   (OpenAPI: {facts.api_url}/v1/openapi.json)",
        f"  platform key    {facts.platform_api_key}   (Authorization: Bearer <key>)",
        f"  sevDesk sandbox {facts.sevdesk_sandbox_url}   token {facts.sevdesk_token}",
        f"  sandbox admin   {facts.sevdesk_sandbox_admin_url}",
        f"  handlers use    SEVDESK_BASE_URL={facts.sevdesk_base_url}",
        f"  AWS (moto)      {facts.moto_url}   region {facts.region}",
        f"  schedules       {schedules or 'none'}",
        "  webhooks        .venv/bin/sevbridge webhooks listen   (a receiver on 127.0.0.1:8765 that registers",
        f"                  itself and prints verified deliveries; log: {facts.api_url}/v1/webhooks/deliveries)",
        f"  facts           {options.state_file}",
        "Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
