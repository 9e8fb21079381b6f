"""`sevbridge platforms create NAME` prints a key once; only its hash is stored."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from sevbridge.domain.platform import hash_api_key
from sevbridge_cli.main import app

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
