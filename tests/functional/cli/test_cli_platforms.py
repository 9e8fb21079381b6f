"""`sevbridge platforms create|list|rotate-key|revoke-key`: keys are printed once, stored only hashed,
and a revoked key is refused by the API from the next request on."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from sevbridge.domain.platform import hash_api_key
from sevbridge_cli.main import app
from tests.functional.cli.conftest import all_output, run_cli

pytestmark = pytest.mark.functional


def test_create_prints_a_key_that_authenticates_and_is_stored_hashed(aws: Any, api_handler: Any) -> None:
    result = CliRunner().invoke(app, ["platforms", "create", "Acme Field Service"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("sbk_")

    items = boto3.client("dynamodb").scan(TableName=aws.environment()["PLATFORMS_TABLE"])["Items"]
    assert key not in repr(items)
    assert any(item["pk"]["S"] == f"KEY#{hash_api_key(key)}" for item in items)

    from tests.support.api_client import HandlerApiClient

    assert HandlerApiClient(api_handler, api_key=key).get("/v1/tenants/x/connection").status == 404  # authenticated

    assert f"API key key_{hash_api_key(key)[:12]} " in result.stderr  # the id `revoke-key` takes

    listed = CliRunner().invoke(app, ["platforms", "list"])
    assert "Acme Field Service" in listed.stdout
    assert key not in listed.stdout


def test_create_refuses_an_empty_name(aws: Any) -> None:
    result = CliRunner().invoke(app, ["platforms", "create", "  "])
    assert result.exit_code == 2
    assert "name" in result.output


def test_cli_without_a_stack_explains_how_to_get_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("PLATFORMS_TABLE", raising=False)
    monkeypatch.setenv("SEVBRIDGE_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["platforms", "list"])
    assert result.exit_code == 2
    assert "make run" in result.output


# --- keys: rotate and revoke ---------------------------------------------------------------------------
def _key_from(result: Any) -> str:
    key = str(result.stdout).strip()
    assert key.startswith("sbk_"), all_output(result)
    return key


def _status_with(api_handler: Any, key: str) -> int:
    from tests.support.api_client import HandlerApiClient

    return HandlerApiClient(api_handler, api_key=key).get("/v1/tenants/nobody/connection").status


def test_rotate_keeps_the_old_key_until_it_is_revoked_and_revoking_works_at_once(
    aws: Any, api_handler: Any, platform: Any
) -> None:
    plt, old_key = platform
    rotated = run_cli("platforms", "rotate-key", plt.platform_id)
    assert rotated.exit_code == 0, all_output(rotated)
    new_key = _key_from(rotated)
    assert new_key != old_key
    assert _status_with(api_handler, new_key) == 404  # authenticated (the tenant does not exist)
    assert _status_with(api_handler, old_key) == 404  # still valid: the platform switches without downtime

    listed = run_cli("platforms", "list", "--json")
    keys = json.loads(listed.stdout)[0]["keys"]
    assert len(keys) == 2
    assert old_key not in listed.stdout and new_key not in listed.stdout
    old_id = next(k["key_id"] for k in keys if k["key_id"] != _new_key_id(rotated))
    assert f"revoke-key {plt.platform_id} {old_id}" in rotated.stderr

    revoked = run_cli("platforms", "revoke-key", plt.platform_id, old_id)
    assert revoked.exit_code == 0, all_output(revoked)
    assert _status_with(api_handler, old_key) == 401  # the very next request
    assert _status_with(api_handler, new_key) == 404
    assert [k["key_id"] for k in json.loads(run_cli("platforms", "list", "--json").stdout)[0]["keys"]] == [
        _new_key_id(rotated)
    ]


def _new_key_id(rotated: Any) -> str:
    return str(rotated.stderr.split("new key ", 1)[1].split()[0])


def test_rotate_with_revoke_old_invalidates_every_other_key(aws: Any, api_handler: Any, platform: Any) -> None:
    plt, old_key = platform
    rotated = run_cli("platforms", "rotate-key", plt.platform_id, "--revoke-old")
    assert rotated.exit_code == 0, all_output(rotated)
    assert _status_with(api_handler, old_key) == 401
    assert _status_with(api_handler, _key_from(rotated)) == 404


def test_revoke_all_leaves_the_platform_without_access_and_says_so(aws: Any, api_handler: Any, platform: Any) -> None:
    plt, key = platform
    result = run_cli("platforms", "revoke-key", plt.platform_id, "--all")
    assert result.exit_code == 0, all_output(result)
    assert "no valid key" in result.stderr
    assert _status_with(api_handler, key) == 401


def test_key_commands_refuse_what_does_not_exist(aws: Any, platform: Any) -> None:
    plt, _ = platform
    for args, code, says in [
        (["platforms", "revoke-key", plt.platform_id, "key_000000000000"], 3, "no key key_000000000000"),
        (["platforms", "revoke-key", "plt_unknown", "--all"], 3, "no platform"),
        (["platforms", "rotate-key", "plt_unknown"], 3, "no platform"),
        (["platforms", "revoke-key", plt.platform_id], 2, "--all"),
    ]:
        result = run_cli(*args)
        assert result.exit_code == code, all_output(result)
        assert says in result.stderr
        assert "Traceback" not in all_output(result)
    assert len(json.loads(run_cli("platforms", "list", "--json").stdout)[0]["keys"]) == 1  # nothing revoked
