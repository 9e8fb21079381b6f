"""`sevbridge backfill …` (typer's runner) against moto and the sandbox: start --file uploads and starts,
status / watch / cancel / resume / retry-failed / failures, errors as one line with the CLI's exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sevbridge_cli.main import app
from tests.functional.backfills.conftest import TENANT, invoice_line, ndjson
from tests.support.worker import drain_until_empty, process_batches

pytestmark = pytest.mark.functional


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["backfill", *args])


def test_start_from_a_file_then_watch_to_the_end(
    aws: Any, connected: Any, platform: Any, sandbox_state: Any, tmp_path: Path
) -> None:
    pid = platform[0].platform_id
    history = tmp_path / "history.ndjson"
    lines = [invoice_line(n) for n in range(1, 13)]
    lines[4] = invoice_line(5, unit="Palette")
    history.write_bytes(ndjson(lines))
    # No --platform: like every other command, the CLI takes the stack's only platform.
    started = _cli("start", "-t", TENANT, "--file", str(history))
    assert started.exit_code == 0, started.output
    bf = started.stdout.strip().splitlines()[-1]
    assert bf.startswith("bf_")

    drain_until_empty(aws, "BackfillQueue")
    watched = _cli("watch", "-p", pid, "-t", TENANT, bf, "--interval", "0")
    assert watched.exit_code == 1, watched.output  # one failure: the operation failed
    assert "completed_with_failures" in watched.stdout
    assert "11 / 1 / 0" in watched.stdout  # done / failed / skipped

    listed = _cli("failures", "-p", pid, "-t", TENANT, bf)
    assert listed.exit_code == 0 and "inv-5" in listed.stdout and "Palette" in listed.stdout
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 11


def test_cancel_resume_and_retry_failed_from_the_cli(
    aws: Any, connected: Any, platform: Any, sandbox_state: Any, tmp_path: Path, api: Any
) -> None:
    pid = platform[0].platform_id
    history = tmp_path / "history.ndjson"
    lines = [invoice_line(n) for n in range(1, 21)]
    lines[19] = invoice_line(20, unit="Palette")
    history.write_bytes(ndjson(lines))
    bf = _cli("start", "-p", pid, "-t", TENANT, "--file", str(history)).stdout.strip().splitlines()[-1]
    process_batches(aws, 2, "BackfillQueue")  # the split and the first chunk of 10
    cancelled = _cli("cancel", "-p", pid, "-t", TENANT, bf)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    drain_until_empty(aws, "BackfillQueue")
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 10

    assert _cli("resume", "-p", pid, "-t", TENANT, bf).exit_code == 0
    drain_until_empty(aws, "BackfillQueue")
    status = _cli("status", "-p", pid, "-t", TENANT, bf)
    assert "completed_with_failures" in status.stdout and "19 / 1 / 0" in status.stdout

    api.put(f"/v1/tenants/{TENANT}/connection", json_body={"settings": {"unit_mapping": {"Palette": "Stk"}}})
    assert _cli("retry-failed", "-p", pid, "-t", TENANT, bf).exit_code == 0
    drain_until_empty(aws, "BackfillQueue")
    status = _cli("status", "-p", pid, "-t", TENANT, bf)
    assert "completed" in status.stdout and "20 / 0 / 0" in status.stdout, status.stdout
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 20


def test_refusals_are_one_line_with_the_cli_exit_codes(aws: Any, connected: Any, platform: Any, tmp_path: Path) -> None:
    pid = platform[0].platform_id
    unknown = _cli("status", "-p", pid, "-t", TENANT, "bf_0000000000000aaaa")
    assert unknown.exit_code == 3 and "no such backfill" in unknown.output  # not found
    assert "Traceback" not in unknown.output
    other_platform = _cli("status", "-p", "plt_0000000000000000", "-t", TENANT, "bf_0000000000000aaaa")
    assert other_platform.exit_code == 3 and "Traceback" not in other_platform.output, other_platform.output
    no_file = _cli("start", "-p", pid, "-t", TENANT, "--file", str(tmp_path / "missing.ndjson"))
    assert no_file.exit_code == 2 and "no such file" in no_file.output
    bad_date = _cli("start", "-p", pid, "-t", TENANT, "--file", str(tmp_path), "--since", "2024-13-01")
    assert bad_date.exit_code == 2
    other_tenant = _cli("status", "-p", pid, "-t", "nobody", "bf_0000000000000aaaa")
    assert other_tenant.exit_code == 3 and "no connection" in other_tenant.output
    bf = _cli("start", "-p", pid, "-t", TENANT, "--pull", "--kinds", "invoices").stdout.strip().splitlines()[-1]
    assert _cli("cancel", "-p", pid, "-t", TENANT, bf).exit_code == 0
    refused = _cli("retry-failed", "-p", pid, "-t", TENANT, bf)
    assert refused.exit_code == 1 and "pull backfill" in refused.output  # refused in its state
