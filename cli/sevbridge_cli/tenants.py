"""`sevbridge tenants list|show`: a platform's tenants with connection status, health and imports.
Shows the token's fingerprint, never the token (the views are the API's own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from sevbridge_cli.common import (
    JsonOpt,
    PlatformOpt,
    RegionOpt,
    StackOpt,
    StateOpt,
    connect,
    err,
    operator_errors,
    out,
    plain,
    platform_id,
    print_json,
    require_tenant,
    url_origin,
    when,
)

if TYPE_CHECKING:
    from sevbridge.api.schemas import ConnectionView

app = typer.Typer(help="A platform's tenants: connection status, health, imports", no_args_is_help=True)


@app.command("list")
def list_tenants(
    platform: PlatformOpt = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The platform's tenants: connection status, token fingerprint, health, last import."""
    target = connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.api.schemas import ConnectionView
    from sevbridge.api.schemas_imports import ImportRunView

    with operator_errors():
        pid = platform_id(target, platform)
        tenants = wiring.tenant_overview().list(pid)
    if as_json:
        print_json(
            [
                {
                    **_connection_json(ConnectionView.of(t.connection)),
                    "last_import": None
                    if t.last_import is None
                    else ImportRunView.of(t.last_import).model_dump(mode="json"),
                }
                for t in tenants
            ]
        )
        return
    table = Table("tenant", "status", "enabled", "token", "last checked", "last error", "last import")
    for t in tenants:
        c = t.connection
        last = t.last_import
        table.add_row(
            plain(c.tenant_id),
            _status(c.status.value),
            "yes" if c.settings.enabled else "[yellow]no[/yellow]",
            plain(c.token_fingerprint),
            when(c.last_checked_at),
            plain(c.last_error),
            "—" if last is None else f"{last.state.value} {when(last.finished_at or last.created_at)}",
        )
    out.print(table)
    err.print(f"{len(tenants)} tenant(s) of {pid}")


@app.command("show")
def show(
    tenant: Annotated[str, typer.Argument(help="Tenant id")],
    platform: PlatformOpt = None,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One tenant: connection, settings, import health per kind, recent imports, transfers needing attention."""
    target = connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.api.schemas import ConnectionView
    from sevbridge.api.schemas_imports import ImportRunView, ImportsHealth

    with operator_errors():
        pid = platform_id(target, platform)
        require_tenant(pid, tenant)
        detail = wiring.tenant_overview().show(pid, tenant)
    view = ConnectionView.of(detail.connection)
    view.imports = ImportsHealth.of(detail.import_state)
    counts = {c.status.value: f"{c.count}{'+' if c.more else ''}" for c in detail.transfers}
    if as_json:
        print_json(
            {
                **_connection_json(view),
                "recent_imports": [ImportRunView.of(r).model_dump(mode="json") for r in detail.recent_imports],
                "transfers": counts,
            }
        )
        return
    facts = {
        "tenant": plain(view.tenant_id),
        "platform": pid,
        "status": _status(view.status.value),
        "token": f"{plain(view.token_fingerprint)} (version {view.token_version})",
        "sevDesk": "—" if view.sevdesk is None else plain(_identity(view.sevdesk.model_dump())),
        "enabled": "yes" if view.settings.enabled else "[yellow]no[/yellow]",
        "auto transfer": "yes" if view.settings.auto_transfer else "no",
        "imports": plain(", ".join(view.settings.import_kinds) or "none"),
        "webhook URL": plain(url_origin(view.settings.webhook_url) or "— (the platform's endpoints)"),
        "last sync": when(view.last_sync_at),
        "last checked": when(view.health.last_checked_at),
        "last error": plain(view.health.last_error or "—"),
        "reconnect": when(view.health.reconnect_required_since) if view.health.reconnect_required_since else "—",
        "transfers": ", ".join(f"{n} {s}" for s, n in counts.items()),
    }
    for name, value in facts.items():
        out.print(f"[bold]{name:>13}[/bold]  {value}")
    health = Table("kind", "last success", "last full", "last error", title="import health")
    for kind, h in view.imports.kinds.items():
        health.add_row(kind.value, when(h.last_success_at), when(h.last_full_at), plain(h.last_error))
    out.print(health)
    runs = Table("import id", "trigger", "state", "created", "finished", "changes", "error", title="recent imports")
    for r in detail.recent_imports:
        runs.add_row(
            r.run_id, r.trigger, r.state.value, when(r.created_at), when(r.finished_at), str(r.counts.changes),
            plain(r.error),
        )  # fmt: skip
    out.print(runs)


def _connection_json(view: ConnectionView) -> dict[str, Any]:
    data: dict[str, Any] = view.model_dump(mode="json")
    data["settings"]["webhook_url"] = url_origin(view.settings.webhook_url)
    return data


def _identity(identity: dict[str, object]) -> str:
    parts = [identity.get("client_name"), identity.get("user_name"), f"v{identity.get('bookkeeping_system_version')}"]
    return " · ".join(str(p) for p in parts if p)


def _status(status: str) -> str:
    return "[green]connected[/green]" if status == "connected" else f"[yellow]{status}[/yellow]"
