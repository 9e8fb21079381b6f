"""`sevbridge platforms create|list|rotate-key|revoke-key`: platforms and their API keys.

A key is printed once, on stdout alone (so `KEY=$(sevbridge platforms create …)` works); sevbridge
stores only its SHA-256. Keys are named by a `key_…` id (a prefix of that hash). Revoking deletes the
key's item: the API's gate reads it (strongly consistent) on every request and caches nothing, so a
revoked key is refused from the next request on."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sevbridge_cli.common import (
    ExitCode,
    JsonOpt,
    RegionOpt,
    StackOpt,
    StateOpt,
    connect,
    err,
    fail,
    operator_errors,
    out,
    plain,
    print_json,
    when,
)

app = typer.Typer(help="Platforms and their API keys", no_args_is_help=True)
PlatformArg = Annotated[str, typer.Argument(help="Platform id (plt_…; `sevbridge platforms list`)")]


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Platform name, e.g. 'Acme Field Service'")],
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Create a platform and print its API key (shown once, stored only as a hash)."""
    connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.domain.platform import hash_api_key, key_id_of
    from sevbridge.domain.platforms import create_platform

    with operator_errors():
        platform, api_key = create_platform(wiring.platform_store(), wiring.clock(), name)
    err.print(f"created platform [bold]{plain(platform.name)}[/bold] ({platform.platform_id})")
    err.print(f"API key {key_id_of(hash_api_key(api_key))} (shown once; store it now):")
    out.print(api_key, markup=False)


@app.command("list")
def list_platforms(
    stack: StackOpt = None, state: StateOpt = None, region: RegionOpt = None, as_json: JsonOpt = False
) -> None:
    """List platforms with the ids of their valid keys (never the keys)."""
    connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.domain.platforms import list_keys

    with operator_errors():
        store = wiring.platform_store()
        rows = [(p, list_keys(store, p.platform_id)) for p in store.list()]
    if as_json:
        print_json(
            [
                {
                    **p.model_dump(mode="json"),
                    "keys": [{"key_id": k.key_id, "created_at": k.created_at.isoformat()} for k in keys],
                }
                for p, keys in rows
            ]
        )
        return
    table = Table("platform id", "name", "created", "valid keys")
    for platform, keys in rows:
        table.add_row(
            platform.platform_id,
            plain(platform.name),
            when(platform.created_at),
            "\n".join(f"{k.key_id} ({when(k.created_at)})" for k in keys) or "[red]none[/red]",
        )
    out.print(table)


@app.command("rotate-key")
def rotate_key(
    platform: PlatformArg,
    revoke_old: Annotated[
        bool,
        typer.Option(
            "--revoke-old/--keep-old",
            help="Revoke the platform's other keys at once (a leaked key); default: they stay valid until "
            "you revoke them, so the platform can switch without downtime",
        ),
    ] = False,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Issue a new API key for a platform (printed once)."""
    connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.domain.platforms import issue_key, list_keys, revoke_keys

    with operator_errors():
        store = wiring.platform_store()
        old = list_keys(store, platform)
        key, api_key = issue_key(store, wiring.clock(), platform)
        if revoke_old and old:
            revoke_keys(store, platform, [k.key_id for k in old])
    err.print(f"new key [bold]{key.key_id}[/bold] for {platform} (shown once; store it now):")
    out.print(api_key, markup=False)
    if not old:
        return
    ids = ", ".join(k.key_id for k in old)
    if revoke_old:
        err.print(f"revoked at once: {ids}")
    else:
        err.print(
            f"still valid: {ids}; once the platform uses the new key: "
            f"sevbridge platforms revoke-key {platform} {' '.join(k.key_id for k in old)}"
        )


@app.command("revoke-key")
def revoke_key(
    platform: PlatformArg,
    key_ids: Annotated[list[str] | None, typer.Argument(help="Key ids to revoke (key_…; `platforms list`)")] = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Revoke every key of the platform")] = False,
    stack: StackOpt = None,
    state: StateOpt = None,
    region: RegionOpt = None,
) -> None:
    """Revoke API keys: refused from the next request on."""
    if bool(key_ids) == all_keys:
        fail(ExitCode.USAGE, "name the key ids to revoke, or pass --all (not both)")
    connect(stack, state, region)
    from sevbridge import wiring
    from sevbridge.domain.platforms import list_keys, revoke_keys

    with operator_errors():
        store = wiring.platform_store()
        revoked = revoke_keys(store, platform, None if all_keys else list(key_ids or []))
        left = list_keys(store, platform)
    err.print(f"revoked {len(revoked)} key(s): {', '.join(k.key_id for k in revoked) or '—'}")
    if not left:
        err.print(
            f"[yellow]{platform} has no valid key now[/yellow]: "
            f"issue one with `sevbridge platforms rotate-key {platform}`"
        )
