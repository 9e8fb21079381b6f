"""The operator CLI (typer's CliRunner) against moto (`mock_aws`, provisioned from template.yaml) and the
sevDesk sandbox: the same worlds as the other functional tests; the CLI finds them through the
environment, as it would in a shell with template.yaml's variables set."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sevbridge_cli.main import app
from tests.support.api_client import HandlerApiClient
from tests.support.worker import make_retries_immediate

TENANT = "school-42"


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def all_output(result: Result) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def connected(api: HandlerApiClient, sevdesk_account: Any, aws: Any) -> Any:
    """Tenant school-42 connected to a fresh sandbox account; failed messages retry at once."""
    result = api.put(
        f"/v1/tenants/{TENANT}/connection",
        json_body={"sevdesk_token": sevdesk_account.token, "settings": {"unit_mapping": {"h": "Std"}}},
    )
    assert result.status == 201, result.body
    make_retries_immediate(aws)
    return sevdesk_account
