"""`sevbridge imports run|list`: start an import from sevDesk now and list a tenant's import runs, through
the same use case as `POST …/imports` (`ImportService`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from sevbridge_cli.common import (
    ExitCode,
    JsonOpt,
    PlatformOpt,
    RegionOpt,
    StackOpt,
    StateOpt,
    connect,
    err,
    fail,
    operator_errors,
    out,
    plain,
    platform_id,
    print_json,
    require_tenant,
    when,
)

if TYPE_CHECKING:
    from sevbridge.domain.pull.runs import ImportRun

app = typer.Typer(help="Imports from sevDesk: run one now, list runs", no_args_is_help=True)
TenantArg = Annotated[str, typer.Argument(help="Tenant id")]
KINDS = ("contacts", "articles", "order_confirmations", "invoices")


@app.command("run")
def run(
    tenant: TenantArg,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help=f"Kind to import (repeatable): {' · '.join(KINDS)}; default: the tenant's"),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Reconcile: read every record, report records deleted in sevDesk")
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for the import to finish (0: return at once)")
    ] = 0,
    platform: PlatformOpt = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start an import now (it runs in the background on the import worker)."""
    unknown = sorted(set(kind or []) - set(KINDS))
    if unknown:
        fail(ExitCode.USAGE, f"--kind: unknown kind(s) {', '.join(unknown)}; valid: {', '.join(KINDS)}")
    target = connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.domain.pull.records import ImportKind
    from sevbridge.domain.pull.runs import TERMINAL

    with operator_errors():
        pid = platform_id(target, platform)
        require_tenant(pid, tenant)
        service = wiring.import_service()
        kinds = [ImportKind(k) for k in kind] if kind else None
        started, created = service.start(pid, tenant, kinds=kinds, full=full)
        run = started
        deadline = time.monotonic() + wait
        with err.status(f"import {run.run_id}: {run.state.value}") as status:
            while run.state not in TERMINAL and time.monotonic() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                run = service.get(pid, tenant, started.run_id)
                status.update(
                    f"import {run.run_id}: {run.state.value}, {run.counts.read} read, {run.requests} requests"
                )
    if as_json:
        from sevbridge.api.schemas_imports import ImportRunView

        print_json({**ImportRunView.of(run).model_dump(mode="json"), "created": created})
        return
    what = "started" if created else "already waiting to start (covers this request)"
    err.print(f"import {what}: [bold]{run.run_id}[/bold] ({', '.join(k.kind.value for k in run.kinds)})")
    _print_runs([run])
    if wait and run.state not in TERMINAL:
        err.print(f"[yellow]still {run.state.value} after {wait:g} s[/yellow]; `sevbridge imports list {tenant}`")
        raise typer.Exit(int(ExitCode.FAILED))
    if run.state.value == "failed":
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("list")
def list_runs(
    tenant: TenantArg,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Runs per page")] = 20,
    cursor: Annotated[str | None, typer.Option(help="The cursor printed under the previous page")] = None,
    platform: PlatformOpt = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A tenant's imports, newest first, with counts per run."""
    target = connect(stack, state, region)
    from sevbridge import wiring

    with operator_errors():
        pid = platform_id(target, platform)
        require_tenant(pid, tenant)
        page = wiring.import_service().list(pid, tenant, limit=limit, cursor=cursor)
    if as_json:
        from sevbridge.api.schemas_imports import ImportRunView

        print_json(
            {
                "items": [ImportRunView.of(r).model_dump(mode="json") for r in page.items],
                "next_cursor": page.next_cursor,
            }
        )
        return
    _print_runs(page.items)
    if page.next_cursor:
        err.print(f"more: --cursor {page.next_cursor}")


def _print_runs(runs: list[ImportRun]) -> None:
    table = Table(
        "import id", "trigger", "state", "kinds", "read", "created", "updated", "deleted", "unchanged", "flagged",
        "requests", "started", "duration", "error",
    )  # fmt: skip
    for run in runs:
        counts = run.counts
        kinds = ", ".join(f"{k.kind.value}{' (full)' if k.full else ''}" for k in run.kinds)
        duration = "" if run.duration_ms is None else f"{run.duration_ms / 1000:.1f} s"
        table.add_row(
            run.run_id, run.trigger, _state(run.state.value), kinds,
            *(str(getattr(counts, n)) for n in ("read", "created", "updated", "deleted", "unchanged", "flagged")),
            str(run.requests), when(run.started_at), duration, plain(run.error),
        )  # fmt: skip
    out.print(table)


def _state(state: str) -> str:
    colour = {"succeeded": "green", "failed": "red", "waiting_for_credentials": "yellow"}.get(state)
    return f"[{colour}]{state}[/{colour}]" if colour else state
