"""Operator CLI (`sevbridge`): platforms and keys, tenants, transfers, imports, dead-letter queues, and a
webhook receiver for development. Works against the local stack (`.local/stack.json`, the default) and a
deployed stack (`--stack NAME`: resources from its CloudFormation outputs, the usual AWS credential chain).
Commands call the domain use cases through the composition root, as the functions do. docs/runbooks.md."""

from __future__ import annotations

import typer

from sevbridge_cli import backfill, dlq, imports, platforms, tenants, transfers, webhooks
from sevbridge_cli.common import EXIT_CODES_HELP

app = typer.Typer(
    help=f"sevbridge operator CLI (docs/runbooks.md).\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(platforms.app, name="platforms")
app.add_typer(tenants.app, name="tenants")
app.add_typer(transfers.app, name="transfers")
app.add_typer(imports.app, name="imports")
app.add_typer(dlq.app, name="dlq")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(backfill.app, name="backfill")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
