"""`sevbridge backfill …`: start, watch and steer backfills (B3) as an operator.

Exit codes (those of the whole CLI): 0 ok; 1 operation failed (refused in the backfill's state, or
`watch`: the backfill ended with failures or was cancelled); 2 usage or input error; 3 not found (tenant,
backfill); 4 no stack reachable. Errors are one readable line on stderr.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sevbridge_cli.common import RegionOpt, StackOpt, StateOpt, connect, platform_id

if TYPE_CHECKING:
    from sevbridge.api.schemas_backfills import BackfillView
    from sevbridge.domain.backfill.jobs import BackfillJob

app = typer.Typer(help="Backfills: push history to sevDesk or pull it from sevDesk", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

# --platform / -p as in every other command: optional, the local stack's demo platform (or the stack's
# only platform) by default, SEVBRIDGE_PLATFORM from the environment.
Platform = Annotated[
    str | None,
    typer.Option(
        "--platform",
        "-p",
        envvar="SEVBRIDGE_PLATFORM",
        help="Platform id (default: the local stack's demo platform, or the stack's only platform)",
    ),
]
Tenant = Annotated[str, typer.Option("--tenant", "-t", help="Tenant id")]
BackfillId = Annotated[str, typer.Argument(help="Backfill id (bf_…)")]


EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_NO_STACK = 1, 2, 3, 4


def _connect(stack: str | None, state: Path | None, region: str | None, platform: str | None) -> str:
    """Finds the stack (as every command does) and the platform id to act for."""
    target = connect(stack, state, region)
    return str(_call(platform_id, target, platform))


def _call(operation: Any, *args: Any, **kwargs: Any) -> Any:
    """Runs a use case; a refusal (DomainError) becomes one line on stderr and its exit code."""
    from sevbridge.domain.errors import DomainError, InvalidInput, NotFound

    try:
        return operation(*args, **kwargs)
    except DomainError as exc:
        fields = ", ".join(str(d.get("field")) for d in exc.details if d.get("field"))
        err.print(f"[red]error:[/red] {exc.message}" + (f" ({fields})" if fields else ""))
        code = (
            EXIT_NOT_FOUND
            if isinstance(exc, NotFound)
            else EXIT_USAGE
            if isinstance(exc, InvalidInput)
            else EXIT_FAILED
        )
        raise typer.Exit(code) from None


def _view(job: BackfillJob) -> BackfillView:
    from sevbridge import wiring
    from sevbridge.api.schemas_backfills import BackfillView

    return BackfillView.of(job, wiring.clock().now())


def _show(job: BackfillJob) -> None:
    view = _view(job)
    table = Table(show_header=False, box=None)
    rows: list[tuple[str, Any]] = [
        ("backfill", view.backfill_id),
        ("direction", view.direction.value + (f" {view.kind.value}" if view.kind else f" {', '.join(view.kinds)}")),
        ("state", view.state.value + (f" ({view.outcome})" if view.outcome else "")),
        ("total", view.total if view.total is not None else "not known yet"),
        ("processed", view.processed),
        ("done / failed / skipped", f"{view.counters.done} / {view.counters.failed} / {view.counters.skipped}"),
        ("invalid / filtered", f"{view.counters.invalid} / {view.counters.filtered}"),
        ("rate", f"{view.rate_per_second}/s" if view.rate_per_second is not None else "-"),
        ("eta", f"{view.eta_seconds:.0f}s" if view.eta_seconds is not None else "-"),
    ]
    if view.import_id:
        rows.append(("import", view.import_id))
    if view.error:
        rows.append(("error", view.error))
    for name, value in rows:
        table.add_row(f"[bold]{name}[/bold]", str(value))
    console.print(table)


@app.command("start")
def start(
    tenant: Tenant,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="push: NDJSON history to upload")] = None,
    kind: Annotated[str, typer.Option("--kind", help="push: contacts or invoices")] = "invoices",
    pull: Annotated[bool, typer.Option("--pull", help="Pull all history of --kinds from sevDesk instead")] = False,
    kinds: Annotated[list[str] | None, typer.Option("--kinds", help="pull: kinds to import (repeat)")] = None,
    since: Annotated[str | None, typer.Option(help="push: earliest invoice date (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option(help="push: latest invoice date (YYYY-MM-DD)")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="push: invoice statuses (repeat)")] = None,
    platform: Platform = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Create and start a backfill; `--file history.ndjson` uploads the file first. Prints the backfill id."""
    from pydantic import ValidationError

    from sevbridge import wiring
    from sevbridge.domain.backfill.jobs import Direction, Filters, PushKind
    from sevbridge.domain.pull.records import ImportKind

    try:
        filters = Filters(
            since=date.fromisoformat(since) if since else None,
            until=date.fromisoformat(until) if until else None,
            statuses=status or None,  # type: ignore[arg-type]
        )
        push_kind = None if pull else PushKind(kind)
        import_kinds = [ImportKind(k) for k in kinds or []]
    except (ValueError, ValidationError) as exc:
        err.print(f"[red]error:[/red] {str(exc).splitlines()[0]}")
        raise typer.Exit(EXIT_USAGE) from None
    if not pull and file is None:
        err.print("[red]error:[/red] a push backfill from the CLI needs --file history.ndjson")
        raise typer.Exit(EXIT_USAGE)
    if file is not None and not file.is_file():
        err.print(f"[red]error:[/red] no such file: {file}")
        raise typer.Exit(EXIT_USAGE)
    platform = _connect(stack, state, region, platform)
    service = wiring.backfill_service()
    job = _call(
        service.create,
        platform,
        tenant,
        direction=Direction.PULL if pull else Direction.PUSH,
        kind=push_kind,
        kinds=import_kinds,
        filters=filters,
        source="upload" if file else "inline",
    )
    if file is not None:
        size = file.stat().st_size
        err.print(f"uploading {file.name} ({size / 1_000_000:.1f} MB)…")
        # Streams the file (multipart above 8 MB): a 100 000-invoice history is never held in memory.
        wiring.backfill_objects().upload_file(job.objects[0], file)
    job = _call(service.start, platform, tenant, job.job_id)
    err.print(f"started backfill [bold]{job.job_id}[/bold]; follow it with `sevbridge backfill watch {job.job_id}`")
    console.print(job.job_id, highlight=False)


@app.command("status")
def show_status(
    tenant: Tenant,
    backfill_id: BackfillId,
    platform: Platform = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """State, counters, rate and ETA of one backfill."""
    platform = _connect(stack, state, region, platform)
    from sevbridge import wiring

    _show(_call(wiring.backfill_service().get, platform, tenant, backfill_id))


@app.command("watch")
def watch(
    tenant: Tenant,
    backfill_id: BackfillId,
    interval: Annotated[float, typer.Option(help="Seconds between looks")] = 2.0,
    platform: Platform = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """A live progress bar (documents, rate, ETA) until the backfill ends; exit 1 if it ended with failures."""
    platform = _connect(stack, state, region, platform)
    from sevbridge import wiring

    service = wiring.backfill_service()
    job = _call(service.get, platform, tenant, backfill_id)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(backfill_id, total=None, rate="-", eta="-")
        while True:
            view = _view(job)
            progress.update(
                task,
                total=view.total,
                completed=view.processed,
                description=f"{backfill_id} {view.state.value}",
                rate=f"{view.rate_per_second}/s" if view.rate_per_second is not None else "-/s",
                eta=f"{view.eta_seconds:.0f}s" if view.eta_seconds is not None else "-",
            )
            if job.finished:
                break
            time.sleep(interval)
            job = _call(service.get, platform, tenant, backfill_id)
    _show(job)
    if job.outcome() != "completed":
        raise typer.Exit(EXIT_FAILED)


@app.command("cancel")
def cancel(
    tenant: Tenant,
    backfill_id: BackfillId,
    platform: Platform = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Stop cleanly: documents in flight finish, nothing else starts; `resume` goes on later."""
    platform = _connect(stack, state, region, platform)
    from sevbridge import wiring

    _show(_call(wiring.backfill_service().cancel, platform, tenant, backfill_id))


@app.command("resume")
def resume(
    tenant: Tenant,
    backfill_id: BackfillId,
    platform: Platform = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Go on with a cancelled or stuck backfill; nothing already done is sent again."""
    platform = _connect(stack, state, region, platform)
    from sevbridge import wiring

    _show(_call(wiring.backfill_service().resume, platform, tenant, backfill_id))


@app.command("retry-failed")
def retry_failed(
    tenant: Tenant,
    backfill_id: BackfillId,
    platform: Platform = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Send a push backfill's failed documents again (fix the cause first, e.g. a unit mapping)."""
    platform = _connect(stack, state, region, platform)
    from sevbridge import wiring

    _show(_call(wiring.backfill_service().retry_failed, platform, tenant, backfill_id))


@app.command("failures")
def failures(
    tenant: Tenant,
    backfill_id: BackfillId,
    status: Annotated[str, typer.Option(help="failed, skipped or invalid")] = "failed",
    limit: Annotated[int, typer.Option(help="At most this many lines")] = 50,
    platform: Platform = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Per-document results: which lines failed (or were skipped / invalid), and why."""
    from sevbridge.domain.backfill.jobs import ItemStatus

    try:
        wanted = ItemStatus(status)
    except ValueError:
        err.print("[red]error:[/red] --status is failed, skipped or invalid")
        raise typer.Exit(EXIT_USAGE) from None
    platform = _connect(stack, state, region, platform)
    from sevbridge import wiring

    page = _call(
        wiring.backfill_service().items, platform, tenant, backfill_id, status=wanted, limit=limit, cursor=None
    )
    table = Table("line", "source id", "field", "reason")
    for item in page.items:
        table.add_row(str(item.line), item.source_id or "", item.field or "", item.reason)
    console.print(table)
