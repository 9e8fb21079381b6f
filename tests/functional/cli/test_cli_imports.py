"""`sevbridge imports run|list` against moto and the sandbox: the same use case as `POST …/imports`,
run by the real import worker."""

from __future__ import annotations

import json
from typing import Any

from sevdesk_sandbox.generate import generate
from tests.functional.cli.conftest import TENANT, all_output, run_cli
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty, make_retries_immediate


def test_run_an_import_now_and_list_it_with_counts(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    generate(sandbox_state, connected.account_id, contacts=4, parts=2)
    make_retries_immediate(aws, "ImportQueue")

    started = run_cli("imports", "run", TENANT, "--kind", "contacts", "--kind", "articles", "--json")
    assert started.exit_code == 0, all_output(started)
    run = json.loads(started.stdout)
    assert run["created"] is True and run["state"] == "queued"
    assert [k["kind"] for k in run["kinds"]] == ["contacts", "articles"]
    # Pressed twice before it started: the waiting import covers it (the API's rule, not a second run).
    again = json.loads(run_cli("imports", "run", TENANT, "--kind", "contacts", "--json").stdout)
    assert again["run_id"] == run["run_id"] and again["created"] is False

    drain_until_empty(aws, "ImportQueue")
    listed = run_cli("imports", "list", TENANT)
    assert listed.exit_code == 0, all_output(listed)
    assert run["run_id"] in listed.stdout and "succeeded" in listed.stdout
    runs = json.loads(run_cli("imports", "list", TENANT, "--json").stdout)["items"]
    assert runs == api.get(f"/v1/tenants/{TENANT}/imports").json["items"]
    assert runs[0]["state"] == "succeeded" and runs[0]["counts"]["created"] >= 4  # the generated customers

    full = json.loads(run_cli("imports", "run", TENANT, "--kind", "contacts", "--full", "--json").stdout)
    assert full["created"] is True and full["kinds"] == [{**full["kinds"][0], "kind": "contacts", "full": True}]


def test_import_mistakes(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    for args, code, says in [
        (["imports", "run", TENANT, "--kind", "receipts"], 2, "receipts"),
        (["imports", "run", "nobody"], 3, "no tenant 'nobody'"),
    ]:
        result = run_cli(*args)
        assert result.exit_code == code, (args, all_output(result))
        assert says in result.stderr
        assert "Traceback" not in all_output(result)
    # Disabled integration: the use case refuses (exit 1) with its reason.
    api.put(f"/v1/tenants/{TENANT}/connection", json_body={"settings": {"enabled": False}})
    refused = run_cli("imports", "run", TENANT)
    assert refused.exit_code == 1 and "disabled" in refused.stderr
