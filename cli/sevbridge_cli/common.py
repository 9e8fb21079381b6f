"""What every operator command shares: the stack options, finding the stack and the platform, one
readable error line instead of a traceback (never a secret), and the exit codes.

Exit codes (also in `sevbridge --help` and docs/runbooks.md):
0 ok · 1 the operation failed (e.g. the transfer has not failed, so there is nothing to retry) ·
2 usage or input error · 3 not found (platform, tenant, transfer, import, stack) ·
4 AWS or the stack unreachable (credentials, network, permissions, missing resources).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape

from sevbridge_cli import environment

# Piped output (grep, less, a test) gets whole table rows instead of rows wrapped at 80 columns.
_PIPE_WIDTH = None if sys.stdout.isatty() else 200
out = Console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    UNREACHABLE = 4


EXIT_CODES_HELP = "Exit codes: 0 ok · 1 operation failed · 2 usage/input error · 3 not found · 4 AWS/stack unreachable."

StackOpt = Annotated[
    str | None,
    typer.Option("--stack", envvar="SEVBRIDGE_STACK", help="Deployed CloudFormation stack (default: the local stack)"),
]
StateOpt = Annotated[Path | None, typer.Option("--state", help="Local stack state file (.local/stack.json)")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="AWS region of --stack (default: the AWS config)")]
PlatformOpt = Annotated[
    str | None,
    typer.Option(
        "--platform",
        envvar="SEVBRIDGE_PLATFORM",
        help="Platform id (default: the local stack's demo platform, or the stack's only platform)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def fail(code: ExitCode, message: str) -> NoReturn:
    from sevbridge.common.observability import redact

    err.print(f"[red]error:[/red] {escape(redact(message))}")
    raise typer.Exit(int(code))


def connect(stack: str | None, state: Path | None, region: str | None = None) -> environment.Target:
    """Finds the stack, points the sevbridge package at it and starts the composition root afresh."""
    try:
        target = environment.load(stack, state, region)
    except environment.StackNotFound as exc:
        fail(ExitCode(exc.exit_code), str(exc))
    from sevbridge import wiring

    wiring.reset()
    err.print(f"[dim]using {target.description}[/dim]")
    return target


def platform_id(target: environment.Target, given: str | None) -> str:
    """--platform, else the local stack's demo platform, else the stack's only platform."""
    from sevbridge import wiring
    from sevbridge.domain.platforms import get_platform

    if given:
        return get_platform(wiring.platform_store(), given).platform_id
    if target.default_platform_id:
        return target.default_platform_id
    platforms = wiring.platform_store().list()
    if len(platforms) == 1:
        return platforms[0].platform_id
    fail(
        ExitCode.USAGE,
        f"pass --platform ID: this stack has {len(platforms)} platforms (`sevbridge platforms list` shows them)",
    )


@contextmanager
def operator_errors() -> Iterator[None]:
    """Turns what can go wrong into one line and an exit code; tracebacks only for our own bugs."""
    from sevbridge.config import ConfigError
    from sevbridge.domain.errors import DomainError, InvalidInput, NotFound, TemporarilyUnavailable

    try:
        yield
    except NotFound as exc:
        fail(ExitCode.NOT_FOUND, exc.message)
    except InvalidInput as exc:
        fail(ExitCode.USAGE, _with_details(exc))
    except TemporarilyUnavailable as exc:
        fail(ExitCode.UNREACHABLE, exc.message)
    except DomainError as exc:
        fail(ExitCode.FAILED, _with_details(exc))
    except ConfigError as exc:
        fail(ExitCode.UNREACHABLE, f"the stack's environment is incomplete: {exc}")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "the call")
        fail(ExitCode.UNREACHABLE, f"AWS refused {operation}: {error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as exc:
        hint = " (the local stack: is `make run` still running?)" if os.environ.get("AWS_ENDPOINT_URL") else ""
        fail(ExitCode.UNREACHABLE, f"AWS unreachable: {exc}{hint}")


def _with_details(exc: Any) -> str:
    details = "; ".join(
        f"{d.get('field')}: {d.get('problem') or d.get('reason')}" for d in exc.details if isinstance(d, dict)
    )
    return f"{exc.message} ({details})" if details else str(exc.message)


def parse_time(value: str | None, option: str) -> datetime | None:
    """ISO 8601 date or date-time; without an offset it is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(ExitCode.USAGE, f"{option}: not an ISO 8601 date or date-time (e.g. 2026-01-31 or 2026-01-31T08:00+01:00)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def print_json(value: Any) -> None:
    from sevbridge.common.observability import redact

    # redact: the last line of defence, as in the functions' logs (nothing printed here holds a secret).
    out.print(redact(json.dumps(value, indent=2, ensure_ascii=False, default=str)), markup=False)


def url_origin(url: object) -> str | None:
    """A URL shown to an operator without path and query: a platform's webhook URL may carry its own token."""
    if url is None:
        return None
    scheme, _, rest = str(url).partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…" if rest.strip("/") != host else f"{scheme}://{host}"


def when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def plain(value: object) -> str:
    """Data in a rich table or line: shown as is, never read as markup (a source id may hold `[…]`)."""
    return "" if value is None else escape(str(value))


def require_tenant(platform: str, tenant: str) -> None:
    """Not found names the tenant (the domain's message does not: the API never echoes input)."""
    from sevbridge import wiring
    from sevbridge.domain.errors import NotFound

    try:
        wiring.connection_service().get(platform, tenant)
    except NotFound:
        fail(ExitCode.NOT_FOUND, f"platform {platform} has no tenant '{tenant}' (never connected, or offboarded)")
