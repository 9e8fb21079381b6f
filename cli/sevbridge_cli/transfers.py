"""`sevbridge transfers list|show|retry`: a tenant's transfers (I6), read and re-sent through the same
use cases as the API (`TransferOps`), never through the ledger's table layout."""

from __future__ import annotations

from typing import Annotated

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
    parse_time,
    plain,
    platform_id,
    print_json,
    require_tenant,
    when,
)

app = typer.Typer(help="Transfers to sevDesk: list, show, retry failed ones", no_args_is_help=True)
TenantArg = Annotated[str, typer.Argument(help="Tenant id (the platform's id for its customer)")]


@app.command("list")
def list_transfers(
    tenant: TenantArg,
    status: Annotated[
        str | None,
        typer.Option(help="queued · sending · transferred · failed · skipped · waiting_for_credentials"),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="contact · invoice · invoice_draft")] = None,
    source_id: Annotated[str | None, typer.Option("--source-id", help="The platform's document id")] = None,
    since: Annotated[str | None, typer.Option(help="Created at or after (ISO 8601; UTC without offset)")] = None,
    until: Annotated[str | None, typer.Option(help="Created before (ISO 8601; UTC without offset)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Transfers per page")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The cursor printed under the previous page")] = None,
    platform: PlatformOpt = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A tenant's transfers, newest first, with the API's filters."""
    target = connect(stack, state, region)
    from pydantic import ValidationError

    from sevbridge import wiring
    from sevbridge.api.schemas_transfers import TransferView
    from sevbridge.domain.intake_models import TransferQuery

    with operator_errors():
        pid = platform_id(target, platform)
        try:
            query = TransferQuery.model_validate(
                {
                    "kind": kind,
                    "status": status,
                    "source_id": source_id,
                    "since": parse_time(since, "--since"),
                    "until": parse_time(until, "--until"),
                    "limit": limit,
                    "cursor": cursor,
                }
            )
        except ValidationError as exc:
            problems = "; ".join(f"--{'-'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            fail(ExitCode.USAGE, problems.replace("_", "-"))
        require_tenant(pid, tenant)  # an unknown tenant is "not found", not an empty list
        page = wiring.transfer_ops().list_transfers(pid, tenant, query)
    views = [TransferView.of(t) for t in page.items]
    if as_json:
        print_json({"items": [v.model_dump(mode="json") for v in views], "next_cursor": page.next_cursor})
        return
    table = Table("transfer id", "kind", "source id", "status", "tries", "sevDesk", "updated", "reason / error")
    for v in views:
        table.add_row(
            v.transfer_id,
            v.kind.value,
            plain(v.source_id),
            _status(v.status.value),
            str(v.attempts),
            plain(v.sevdesk_number or v.sevdesk_id),
            when(v.updated_at),
            plain(v.reason or v.last_error),
        )
    out.print(table)
    err.print(f"{len(views)} transfer(s)")
    if page.next_cursor:
        err.print(f"more: --cursor {page.next_cursor}")


@app.command("show")
def show(
    tenant: TenantArg,
    transfer_id: Annotated[str, typer.Argument(help="Transfer id (tr_…)")],
    platform: PlatformOpt = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One transfer with its history."""
    target = connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.api.schemas_transfers import TransferDetail

    with operator_errors():
        pid = platform_id(target, platform)
        require_tenant(pid, tenant)
        detail = TransferDetail.of(wiring.transfer_ops().get(pid, tenant, transfer_id))
    if as_json:
        print_json(detail.model_dump(mode="json"))
        return
    facts = {
        "transfer": detail.transfer_id,
        "kind": detail.kind.value,
        "source id": plain(detail.source_id),
        "event": plain(f"{detail.event_type} {detail.event_id}"),
        "status": _status(detail.status.value),
        "attempts": str(detail.attempts),
        "manual": "yes" if detail.manual else "no",
        "sevDesk": plain(" ".join(x for x in (detail.sevdesk_id, detail.sevdesk_number) if x) or "—"),
        "reason": plain(detail.reason or "—"),
        "last error": plain(detail.last_error or "—"),
        "created": when(detail.created_at),
        "updated": when(detail.updated_at),
    }
    for name, value in facts.items():
        out.print(f"[bold]{name:>10}[/bold]  {value}")
    history = Table("at", "status", "note", title="history")
    for entry in detail.history:
        history.add_row(when(entry.at), _status(entry.status.value), plain(entry.note))
    out.print(history)


@app.command("retry")
def retry(
    tenant: TenantArg,
    transfer_id: Annotated[str | None, typer.Argument(help="Transfer id (tr_…) to send again")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed transfer of the tenant")] = False,
    platform: PlatformOpt = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Send one failed transfer, or all of a tenant's failed transfers, again (in the background)."""
    if bool(transfer_id) == all_failed:
        fail(ExitCode.USAGE, "name one transfer id, or pass --all-failed (not both)")
    target = connect(stack, state, region)
    from sevbridge import wiring

    with operator_errors():
        pid = platform_id(target, platform)
        require_tenant(pid, tenant)
        ops = wiring.transfer_ops()
        retried = ops.retry_all_failed(pid, tenant) if all_failed else [ops.retry(pid, tenant, str(transfer_id))]
    for t in retried:
        out.print(f"{t.transfer_id}  {t.kind.value} {plain(t.source_id)}  → queued")
    err.print(f"{len(retried)} transfer(s) queued again; follow them with `sevbridge transfers list {tenant}`")


def _status(status: str) -> str:
    colour = {"transferred": "green", "failed": "red", "waiting_for_credentials": "yellow", "skipped": "dim"}
    return f"[{colour[status]}]{status}[/{colour[status]}]" if status in colour else status
