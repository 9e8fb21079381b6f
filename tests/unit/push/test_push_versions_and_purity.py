"""Stale-version rules, and the push domain's independence from AWS and HTTP libraries."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

import sevbridge.domain.push as push_package
from sevbridge.domain.push.ports import MappingRow
from sevbridge.domain.push.versions import is_stale, newest, newest_seen, stale_message

pytestmark = pytest.mark.unit

T1 = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2025, 7, 1, 11, 0, tzinfo=UTC)


def test_only_older_versions_are_stale() -> None:
    row = MappingRow("contact", "c", sevdesk_id="1", version=T2)
    assert is_stale(row, T1)
    assert not is_stale(row, T2)  # the same event again: a retry, not stale
    assert not is_stale(row, datetime(2025, 7, 1, 12, 0))  # naive = UTC
    assert not is_stale(None, T1)
    assert not is_stale(MappingRow("contact", "c"), T1)
    assert newest(row, T1) == T2 and newest(None, T1) == T1


T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)


def test_a_seen_version_makes_older_automatic_events_stale_but_not_manual_ones() -> None:
    seen = MappingRow("invoice", "i", seen_version=T2, seen_only=True)
    assert is_stale(seen, T1)
    assert not is_stale(seen, T2)  # the skipped event again
    assert not is_stale(seen, T1, count_seen=False)  # manual: nothing was applied
    assert stale_message(seen) == f"stale: a newer version ({T2.isoformat()}) was already received and not transferred"
    assert newest(seen, T1) == T1  # applying T1 makes T1 the applied version
    assert newest_seen(seen, T1) == T2 and newest_seen(None, T1) == T1

    applied = MappingRow("invoice", "i", sevdesk_id="5", version=T1, seen_version=T2)
    between = datetime(2025, 7, 1, 10, 30, tzinfo=UTC)
    assert is_stale(applied, T0, count_seen=False) and not is_stale(applied, between, count_seen=False)
    assert is_stale(applied, between)  # automatic: older than the seen T2
    assert stale_message(applied, count_seen=False) == f"stale: a newer version ({T1.isoformat()}) was already applied"
    newer_applied = MappingRow("invoice", "i", sevdesk_id="5", version=T2, seen_version=T1)
    assert stale_message(newer_applied).endswith("was already applied")


def test_only_a_row_without_sevdesk_id_that_is_not_seen_only_is_a_create_in_flight() -> None:
    assert MappingRow("invoice", "i", version=T1).create_in_flight
    assert not MappingRow("invoice", "i", seen_version=T1, seen_only=True).create_in_flight
    assert not MappingRow("invoice", "i", sevdesk_id="5", version=T1).create_in_flight


FORBIDDEN = {"boto3", "botocore", "httpx", "mypy_boto3_dynamodb", "sevbridge.adapters"}


def test_push_domain_imports_no_aws_or_http_library() -> None:
    folder = Path(push_package.__file__).parent
    offenders = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert offenders == []
