"""A client generated from docs/openapi.json (openapi-python-client) calls every route of the API.

The client is generated in the test, from the committed document (tests/unit/test_openapi_document.py
keeps that equal to what the API serves), with `--fail-on-warning`: a schema the generator cannot turn
into types fails here. Generating costs ~2 s, so nothing generated is committed and nothing goes stale.
Every call uses the typed models, and every answer must parse into the type the document promises.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sevbridge.api.schemas_transfers import EVENT_EXAMPLE
from sevdesk_sandbox.generate import generate
from tests.support.live_api import serve_api
from tests.support.receiver import Receiver
from tests.support.worker import drain

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "sevbridge_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("client")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            f"--path={ROOT / 'docs' / 'openapi.json'}",
            f"--output-path={out / PACKAGE}",
            "--meta=none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},  # it formats with ruff
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(name: str) -> Any:
    """e.g. api("connections.put_connection") → the generated module with sync_detailed()."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch, aws: Any) -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1, allowed as on the local stack."""
    from sevbridge import wiring

    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    wiring.reset()
    r = Receiver()
    yield r
    r.close()


def test_a_generated_client_calls_every_route(
    generated: ModuleType,
    aws: Any,
    platform: tuple[Any, str],
    sandbox_state: Any,
    sevdesk_account: Any,
    receiver: Receiver,
) -> None:
    calls: set[str] = set()

    with serve_api(aws) as url:
        client = generated.AuthenticatedClient(base_url=url, token=platform[1], raise_on_unexpected_status=True)

        def call(name: str, status: int, **kwargs: Any) -> Any:
            response = api(name).sync_detailed(client=client, **kwargs)
            assert response.status_code == status, response.content
            calls.add(api(name).__name__.rsplit(".", 1)[1])
            return response.parsed

        # Connections: create, read, test; the answers are the documented models.
        put = model("ConnectionPut").from_dict({"sevdesk_token": sevdesk_account.token})
        created = call("connections.put_connection", 201, tenant_id="school-42", body=put)
        assert isinstance(created, model("ConnectionPutResult"))
        assert created.created is True
        assert call("connections.get_connection", 200, tenant_id="school-42").status.value == "connected"
        assert call("connections.test_connection", 200, tenant_id="school-42").ok is True

        # Events → transfers; a unit sevDesk does not know fails the transfer (I4), so it can be retried.
        unknown_unit = copy.deepcopy(EVENT_EXAMPLE)
        unknown_unit["data"]["positions"][0]["unit"] = "Fass"
        event = model("InvoiceUpsertedEvent").from_dict(unknown_unit)
        accepted = call("events.post_events", 202, tenant_id="school-42", body=event)
        transfer_id = accepted.results[0].transfers[0].transfer_id
        drain(aws)
        page = call("transfers.list_transfers", 200, tenant_id="school-42", limit=10)
        assert [t.transfer_id for t in page.items] == [transfer_id]
        detail = call("transfers.get_transfer", 200, tenant_id="school-42", transfer_id=transfer_id)
        assert detail.status.value == "failed", detail.to_dict()
        assert "Fass" in (detail.last_error or detail.reason or "")
        retried = call("transfers.retry_transfer", 202, tenant_id="school-42", transfer_id=transfer_id)
        assert retried.retried == 1
        again = call("transfers.retry_transfer", 409, tenant_id="school-42", transfer_id=transfer_id)
        assert isinstance(again, model("ErrorResponse"))  # errors parse into the one error body
        assert call("transfers.retry_failed_transfers", 202, tenant_id="school-42").retried == 0
        # The status column and "transfer what is missing" for a page of documents.
        lookup = model("LookupRequest").from_dict({"documents": [{"kind": "invoice", "source_id": "inv-2026-020"}]})
        (state,) = call("transfers.lookup_documents", 200, tenant_id="school-42", body=lookup).documents
        assert (state.status, state.transfer_id) == ("queued", transfer_id)
        ensure = model("InvoiceUpsertedEvent").from_dict({**unknown_unit, "id": "evt-ensure"})
        ensured = call("transfers.ensure_transferred", 200, tenant_id="school-42", body=ensure)
        assert ensured.unchanged == 1 and ensured.results[0].documents[0].outcome.value == "in_progress"

        # A batch, an invalid request and a wrong key: every answer is typed.
        batch = model("EventBatch").from_dict({"events": [{**EVENT_EXAMPLE, "id": "evt-batch-1"}]})
        assert call("events.post_events", 202, tenant_id="school-42", body=batch).accepted == 1
        invalid = call("transfers.list_transfers", 422, tenant_id="school-42", since=None, limit=500)  # limit is 1–200
        assert invalid.error.details[0].field == "query.limit"
        stranger = generated.AuthenticatedClient(base_url=url, token="sbk_" + "x" * 43)
        refused = api("connections.get_connection").sync_detailed(client=stranger, tenant_id="school-42")
        assert refused.status_code == 401
        assert refused.parsed.error.code == "unauthenticated"

        # Imports and the change feed: a customer someone created in sevDesk comes back as a change.
        generate(sandbox_state, sevdesk_account.account_id, contacts=1, backdate=True)
        request = model("ImportRequest").from_dict({"kinds": ["contacts"]})
        started = call("imports.start_import", 202, tenant_id="school-42", body=request)
        assert call("imports.start_import", 200, tenant_id="school-42", body=request).run_id == started.run_id
        drain(aws, "ImportQueue")
        run = call("imports.get_import", 200, tenant_id="school-42", run_id=started.run_id)
        assert run.state.value == "succeeded", run.to_dict()
        assert [r.run_id for r in call("imports.list_imports", 200, tenant_id="school-42").items] == [run.run_id]
        feed = call("imports.list_changes", 200, tenant_id="school-42", limit=10)
        assert [(c.kind.value, c.action.value) for c in feed.items] == [("contacts", "created")]
        gone = call("imports.list_changes", 422, tenant_id="school-42", after="not-a-cursor")
        assert gone.error.details[0].field == "query.after"

        # Backfills: one inline page with a valid and an invalid document, progress, per-document results,
        # the control routes, a pull.
        push = model("BackfillRequest").from_dict({"direction": "push", "kind": "invoices"})
        job = call("backfills.create_backfill", 201, tenant_id="school-42", body=push)
        bf = {"tenant_id": "school-42", "backfill_id": job.backfill_id}
        valid = {"occurred_at": "2026-11-25T10:00:00+01:00", "data": {**EVENT_EXAMPLE["data"], "source_id": "bf-1"}}
        page = model("ItemsRequest").from_dict({"documents": [valid, {"occurred_at": "2026-11-25T10:00:00+01:00"}]})
        assert call("backfills.add_backfill_items", 200, body=page, **bf).pages == 1
        assert call("backfills.start_backfill", 202, **bf).state.value == "running"
        drain(aws, "BackfillQueue")
        finished = call("backfills.get_backfill", 200, **bf)
        assert finished.state.value == "completed", finished.to_dict()
        assert (finished.counters.done, finished.counters.invalid) == (1, 1)
        results = call("backfills.list_backfill_items", 200, **bf)
        assert [(r.line, r.field) for r in results.items] == [(2, "data")]
        assert call("backfills.cancel_backfill", 200, **bf).state.value == "completed"  # finished: unchanged
        assert call("backfills.resume_backfill", 409, **bf).error.code == "conflict"
        assert call("backfills.retry_failed_backfill_items", 202, **bf).state.value == "completed"
        pull = model("BackfillRequest").from_dict({"direction": "pull", "kinds": ["contacts"]})
        pulled = call("backfills.create_backfill", 201, tenant_id="school-42", body=pull)
        listed = call("backfills.list_backfills", 200, tenant_id="school-42")
        assert [j.backfill_id for j in listed.items] == [pulled.backfill_id, job.backfill_id]

        # Webhooks: an endpoint, its secret, a test delivery that reaches the receiver, the log, replays.
        create = model("EndpointCreate").from_dict({"url": f"http://127.0.0.1:{receiver.port}/hooks"})
        endpoint = call("webhooks.create_webhook_endpoint", 201, body=create)
        assert endpoint.secret.startswith("whsec_")
        assert [e.endpoint_id for e in call("webhooks.list_webhook_endpoints", 200).items] == [endpoint.endpoint_id]
        assert call("webhooks.get_webhook_endpoint", 200, endpoint_id=endpoint.endpoint_id).enabled is True
        patch = model("EndpointPatch").from_dict({"description": "CRM"})
        changed = call("webhooks.update_webhook_endpoint", 200, endpoint_id=endpoint.endpoint_id, body=patch)
        assert changed.description == "CRM"
        rotated = call("webhooks.rotate_webhook_secret", 200, endpoint_id=endpoint.endpoint_id)
        assert rotated.secret.startswith("whsec_") and rotated.secret != endpoint.secret
        test = call("webhooks.send_webhook_test", 202, endpoint_id=endpoint.endpoint_id)
        drain(aws, "WebhookQueue")
        assert [r.type for r in receiver.requests] == ["webhook.test"]
        log = call("webhooks.list_webhook_deliveries", 200, endpoint_id=endpoint.endpoint_id)
        assert [d.delivery_id for d in log.items] == [test.delivery_id]
        detail = call("webhooks.get_webhook_delivery", 200, delivery_id=test.delivery_id)
        assert detail.status.value == "succeeded" and len(detail.attempts) == 1
        assert call("webhooks.replay_webhook_delivery", 202, delivery_id=test.delivery_id).round_ == 1
        replay = model("BulkReplay").from_dict({"since": "2020-01-01T00:00:00Z"})
        assert call("webhooks.replay_failed_webhook_deliveries", 202, body=replay).replayed == 0
        assert call("webhooks.delete_webhook_endpoint", 200, endpoint_id=endpoint.endpoint_id).deleted is True

        deleted = call("connections.delete_tenant", 200, tenant_id="school-42")
        assert deleted.deleted is True
        assert call("connections.get_connection", 404, tenant_id="school-42").error.code == "not_found"

    documented = {
        op["operationId"]
        for item in json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"].values()
        for op in item.values()
    }
    assert calls == documented, documented - calls
