"""Stale-version rules, and the push domain's independence from AWS and HTTP libraries."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

import sevbridge.domain.push as push_package
from sevbridge.domain.push.ports import MappingRow
from sevbridge.domain.push.versions import is_stale, newest

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
