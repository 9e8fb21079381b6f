"""`sevbridge transfers list|show|retry` and `tenants list|show` against moto and the sandbox: the same
answers as the API, one readable line and an exit code for every mistake, never a token."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sevbridge import wiring
from tests.functional.cli.conftest import TENANT, all_output, run_cli
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain

EVENTS = f"/v1/tenants/{TENANT}/events"
PALETTE_MAPPED = {"settings": {"unit_mapping": {"h": "Std", "Palette": "Stk"}}}


def _failed_invoice(api: HandlerApiClient, aws: Any) -> str:
    """An invoice whose unit does not exist in sevDesk: it fails at once, nothing is created (I4)."""
    event = load_event("platform-invoice-upserted.json")
    event["data"]["positions"][1]["unit"] = "Palette"
    assert api.post(EVENTS, json_body=event).status == 202
    drain(aws)
    failed = api.get(f"/v1/tenants/{TENANT}/transfers", query={"status": "failed"}).json["items"]
    assert len(failed) == 1
    return str(failed[0]["transfer_id"])


def test_list_show_and_retry_a_failed_transfer(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    transfer_id = _failed_invoice(api, aws)

    listed = run_cli("transfers", "list", TENANT, "--status", "failed")
    assert listed.exit_code == 0, all_output(listed)
    assert transfer_id in listed.stdout and "Palette" in listed.stdout
    as_json = json.loads(run_cli("transfers", "list", TENANT, "--status", "failed", "--json").stdout)
    api_view = api.get(f"/v1/tenants/{TENANT}/transfers", query={"status": "failed"}).json
    assert as_json == api_view  # the API's own view, not a second interpretation of the ledger
    assert json.loads(run_cli("transfers", "list", TENANT, "--status", "transferred", "--json").stdout)["items"] == []

    shown = run_cli("transfers", "show", TENANT, transfer_id)
    assert shown.exit_code == 0, all_output(shown)
    assert "history" in shown.stdout and "failed" in shown.stdout and "Palette" in shown.stdout
    detail = json.loads(run_cli("transfers", "show", TENANT, transfer_id, "--json").stdout)
    assert detail == api.get(f"/v1/tenants/{TENANT}/transfers/{transfer_id}").json

    # The tenant fixes the unit mapping; the operator retries every failed transfer of the tenant.
    api.put(
        f"/v1/tenants/{TENANT}/connection", json_body={"settings": {"unit_mapping": {"h": "Std", "Palette": "Stk"}}}
    )
    retried = run_cli("transfers", "retry", TENANT, "--all-failed")
    assert retried.exit_code == 0, all_output(retried)
    assert f"{transfer_id}" in retried.stdout and "1 transfer(s) queued again" in retried.stderr
    drain(aws)
    assert api.get(f"/v1/tenants/{TENANT}/transfers/{transfer_id}").json["status"] == "transferred"

    # Retrying what has not failed is refused with the reason (exit 1), and changes nothing.
    again = run_cli("transfers", "retry", TENANT, transfer_id)
    assert again.exit_code == 1, all_output(again)
    assert "transferred" in again.stderr and "only failed transfers" in again.stderr
    assert "Traceback" not in all_output(again)
    nothing = run_cli("transfers", "retry", TENANT, "--all-failed")
    assert nothing.exit_code == 0 and "0 transfer(s)" in nothing.stderr


def test_retry_one_failed_transfer_by_id(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    transfer_id = _failed_invoice(api, aws)
    api.put(
        f"/v1/tenants/{TENANT}/connection", json_body={"settings": {"unit_mapping": {"h": "Std", "Palette": "Stk"}}}
    )
    result = run_cli("transfers", "retry", TENANT, transfer_id)
    assert result.exit_code == 0, all_output(result)
    assert api.get(f"/v1/tenants/{TENANT}/transfers/{transfer_id}").json["status"] == "queued"
    drain(aws)
    assert api.get(f"/v1/tenants/{TENANT}/transfers/{transfer_id}").json["status"] == "transferred"


def test_mistakes_get_one_line_and_an_exit_code(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    cases = [
        (["transfers", "list", "nobody"], 3, "no tenant 'nobody'"),
        (["transfers", "show", TENANT, "tr_0123456789abcdef"], 3, "no such transfer"),
        (["transfers", "list", TENANT, "--status", "lost"], 2, "--status"),
        (["transfers", "list", TENANT, "--since", "yesterday"], 2, "--since"),
        (["transfers", "retry", TENANT], 2, "--all-failed"),
        (["transfers", "list", TENANT, "--platform", "plt_nope"], 3, "no platform"),
        (["tenants", "show", "nobody"], 3, "no tenant 'nobody'"),
        (["imports", "list", "nobody"], 3, "no tenant"),
    ]
    for args, code, says in cases:
        result = run_cli(*args)
        assert result.exit_code == code, (args, all_output(result))
        assert says in result.stderr, (args, result.stderr)
        assert "Traceback" not in all_output(result)
        assert len(result.stderr.strip().splitlines()) <= 2  # "using …" and the error


def test_tenants_list_and_show_print_the_fingerprint_never_the_token(
    api: HandlerApiClient, connected: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failed_invoice(api, aws)
    # A tenant's webhook URL may carry the platform's own token: operators see only its origin.
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    wiring.reset()
    hook = "http://127.0.0.1:9/hooks/in?token=platform-secret-in-url"
    assert api.put(f"/v1/tenants/{TENANT}/connection", json_body={"settings": {"webhook_url": hook}}).status == 200
    token = connected.token
    listed = run_cli("tenants", "list")
    assert listed.exit_code == 0, all_output(listed)
    assert TENANT in listed.stdout and "connected" in listed.stdout and f"…{token[-4:]}" in listed.stdout
    tenants = json.loads(run_cli("tenants", "list", "--json").stdout)
    assert [t["tenant_id"] for t in tenants] == [TENANT]
    assert tenants[0]["token_fingerprint"] == f"…{token[-4:]}"

    shown = run_cli("tenants", "show", TENANT)
    assert shown.exit_code == 0, all_output(shown)
    assert "1 failed" in shown.stdout
    detail = json.loads(run_cli("tenants", "show", TENANT, "--json").stdout)
    assert detail["transfers"] == {"failed": "1", "waiting_for_credentials": "0", "queued": "0"}
    assert detail["status"] == "connected"

    assert detail["settings"]["webhook_url"] == "http://127.0.0.1:9/…"
    for result in (listed, shown, run_cli("tenants", "list", "--json"), run_cli("tenants", "show", TENANT, "--json")):
        assert token not in all_output(result)
        assert "platform-secret-in-url" not in all_output(result)
        assert token.lower() not in all_output(result).lower()


def test_tenants_of_another_platform_are_not_listed(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    other = run_cli("platforms", "create", "Other Platform")
    other_id = other.stderr.split("(", 1)[1].split(")", 1)[0]
    assert json.loads(run_cli("tenants", "list", "--platform", other_id, "--json").stdout) == []
    shown = run_cli("tenants", "show", TENANT, "--platform", other_id)
    assert shown.exit_code == 3
    # Two platforms now: the CLI asks which one rather than guessing.
    ambiguous = run_cli("tenants", "list")
    assert ambiguous.exit_code == 2 and "--platform" in ambiguous.stderr
