"""Operator CLI. `sevbridge platforms create NAME` prints a new platform API key once;
`sevbridge webhooks listen` receives, verifies and prints webhook deliveries (development)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sevbridge_cli import backfill, environment, webhooks

app = typer.Typer(help="sevbridge operator CLI", no_args_is_help=True, add_completion=False)
platforms = typer.Typer(help="Platforms and their API keys", no_args_is_help=True)
app.add_typer(platforms, name="platforms")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(backfill.app, name="backfill")
console = Console()
err = Console(stderr=True)

StackOpt = Annotated[str | None, typer.Option("--stack", help="Deployed CloudFormation stack name")]
StateOpt = Annotated[Path | None, typer.Option("--state", help="Local stack state file (.local/stack.json)")]


def _connect(stack: str | None, state: Path | None) -> None:
    try:
        where = environment.load(stack, state)
    except environment.StackNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    err.print(f"[dim]using {where}[/dim]")


@platforms.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Platform name, e.g. 'Acme Field Service'")],
    stack: StackOpt = None,
    state: StateOpt = None,
) -> None:
    """Create a platform and print its API key (shown once, stored only as a hash)."""
    _connect(stack, state)
    from sevbridge import wiring
    from sevbridge.domain.errors import DomainError
    from sevbridge.domain.platforms import create_platform

    try:
        platform, api_key = create_platform(wiring.platform_store(), wiring.clock(), name)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    err.print(f"created platform [bold]{platform.name}[/bold] ({platform.platform_id})")
    err.print("API key (shown once; store it now):")
    console.print(api_key, soft_wrap=True, highlight=False)


@platforms.command("list")
def list_platforms(stack: StackOpt = None, state: StateOpt = None) -> None:
    """List platforms (never their keys)."""
    _connect(stack, state)
    from sevbridge import wiring

    table = Table("platform id", "name", "created")
    for platform in wiring.platform_store().list():
        table.add_row(platform.platform_id, platform.name, platform.created_at.isoformat())
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
