"""`sevbridge webhooks listen`: receive, verify and print webhook deliveries (development)."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from sevbridge_cli import environment
from sevbridge_cli.listener import Delivery, Listener

app = typer.Typer(help="Webhooks: watch deliveries from a local stack", no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
MEMORY = "webhook-listener.json"


def _stack_facts(state: Path | None) -> dict[str, Any]:
    path = state or environment.default_state_file()
    if not path.exists():
        return {}
    facts: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return facts


class Registration:
    """Registers the listener as an endpoint once and remembers it (id + secret) next to stack.json, so
    a restarted listener keeps its endpoint and receives the retries and replays meant for it."""

    def __init__(self, api_url: str, api_key: str, memory: Path) -> None:
        self.api = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=15)
        self.memory = memory

    def ensure(self, url: str, event_types: list[str] | None, tenants: list[str] | None, new: bool) -> tuple[str, str]:
        remembered = self.remembered().get(url)
        if remembered and not new:
            found = self.api.get(f"/v1/webhooks/endpoints/{remembered['endpoint_id']}")
            if found.status_code == 200 and found.json().get("url") == url:
                changes = {"event_types": event_types, "tenant_ids": tenants, "enabled": True}
                self.api.patch(f"/v1/webhooks/endpoints/{remembered['endpoint_id']}", json=changes).raise_for_status()
                return remembered["endpoint_id"], remembered["secret"]
        created = self.api.post(
            "/v1/webhooks/endpoints",
            json={
                "url": url,
                "event_types": event_types,
                "tenant_ids": tenants,
                "description": "sevbridge webhooks listen",
            },
        )
        if created.status_code != 201:
            raise RuntimeError(f"registering {url} failed: HTTP {created.status_code} {created.text[:300]}")
        body = created.json()
        memory = self.remembered()
        memory[url] = {"endpoint_id": body["endpoint_id"], "secret": body["secret"]}
        self.memory.parent.mkdir(parents=True, exist_ok=True)
        self.memory.write_text(json.dumps(memory, indent=2), encoding="utf-8")
        self.memory.chmod(0o600)
        return body["endpoint_id"], body["secret"]

    def remembered(self) -> dict[str, Any]:
        if not self.memory.exists():
            return {}
        data: dict[str, Any] = json.loads(self.memory.read_text(encoding="utf-8"))
        return data


def _print(delivery: Delivery, as_json: bool) -> None:
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    if as_json:
        out.print(
            json.dumps(
                {
                    "verified": delivery.verified,
                    "webhook_id": delivery.webhook_id,
                    "type": payload.get("type"),
                    "tenant_id": payload.get("tenant_id"),
                    "answered": delivery.answered,
                    "problem": delivery.problem,
                    "payload": delivery.payload,
                }
            ),
            soft_wrap=True,
        )
        return
    mark = "[green]✓ verified[/green]" if delivery.verified else f"[red]✗ {delivery.problem}[/red]"
    answered = "" if delivery.answered < 300 else f"  [yellow]answered {delivery.answered}[/yellow]"
    out.print(
        f"{delivery.at:%H:%M:%S} {mark}  [bold]{payload.get('type', '?')}[/bold]  "
        f"tenant={payload.get('tenant_id')}  id={delivery.webhook_id}{answered}"
    )
    if payload.get("data") is not None:
        out.print("   " + json.dumps(payload["data"], ensure_ascii=False), soft_wrap=True)


@app.command()
def listen(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free port)")] = 8765,
    register: Annotated[
        bool, typer.Option("--register/--no-register", help="Register this listener as an endpoint on the stack")
    ] = True,
    secret: Annotated[str | None, typer.Option(help="Verify with this whsec_ secret instead of registering")] = None,
    event_type: Annotated[list[str] | None, typer.Option("--event-type", help="Only these types (repeatable)")] = None,
    tenant: Annotated[list[str] | None, typer.Option("--tenant", help="Only these tenants (repeatable)")] = None,
    fail_first: Annotated[int, typer.Option(help="Answer 503 to the first N deliveries (to watch retries)")] = 0,
    new: Annotated[bool, typer.Option("--new", help="Register a new endpoint even if one is remembered")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per delivery")] = False,
    api_url: Annotated[str | None, typer.Option(help="sevbridge API (default: the local stack's)")] = None,
    api_key: Annotated[str | None, typer.Option(help="Platform API key (default: the local stack's demo key)")] = None,
    state: Annotated[Path | None, typer.Option("--state", help="Local stack state file (.local/stack.json)")] = None,
) -> None:
    """Receive webhooks on 127.0.0.1, verify each with the endpoint's secret and print it."""
    deliveries: list[Delivery] = []
    secrets = [secret] if secret else []
    endpoint_id = None
    facts = _stack_facts(state)
    memory = (state or environment.default_state_file()).parent / MEMORY
    if not secret and register:
        api_url = api_url or facts.get("api_url")
        api_key = api_key or facts.get("platform_api_key")
        if not api_url or not api_key:
            err.print(
                "[red]error:[/red] no local stack found (start one with `make run`), or pass --api-url and --api-key"
            )
            raise typer.Exit(2)
        remembered = Registration(api_url, api_key, memory).remembered()
        if port == 8765 and not new and len(remembered) == 1:
            port = int(next(iter(remembered)).rsplit(":", 1)[1].split("/")[0])

    def report(delivery: Delivery) -> None:
        deliveries.append(delivery)
        _print(delivery, as_json)

    try:
        listener = Listener(secrets, report, port=port, fail_first=fail_first)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot listen on 127.0.0.1:{port}: {exc.strerror}")
        raise typer.Exit(2) from None
    if not secret and register:
        assert api_url and api_key
        try:
            endpoint_id, registered_secret = Registration(api_url, api_key, memory).ensure(
                listener.url, event_type or None, tenant or None, new
            )
        except (httpx.HTTPError, RuntimeError) as exc:
            listener.shutdown()
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        listener.add_secret(registered_secret)
    if as_json:
        out.print(json.dumps({"listening": listener.url, "endpoint_id": endpoint_id}))
    else:
        where = f" as endpoint [bold]{endpoint_id}[/bold]" if endpoint_id else ""
        err.print(f"listening on {listener.url}{where}; verifying signatures; Ctrl-C stops")
        if endpoint_id:
            err.print(f"[dim]endpoint id and secret remembered in {memory}; a restart keeps the endpoint[/dim]")

    stop = threading.Event()
    with contextlib.suppress(ValueError):  # not in the main thread (tests): no signal handler
        for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
            signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        listener.shutdown()
    verified = sum(d.verified for d in deliveries)
    err.print(f"stopped: {len(deliveries)} deliveries, {verified} verified")
