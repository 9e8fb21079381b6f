"""Docs that describe code must list exactly what the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sevbridge.config import Settings
from sevbridge.domain.settings import TenantSettings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_configuration_doc_lists_every_tenant_setting() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", (ROOT / "docs/configuration.md").read_text(), re.M))
    assert documented == set(TenantSettings.model_fields)


def test_readme_lists_every_environment_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    for field in Settings.model_fields.values():
        assert f"`{field.alias}`" in readme, field.alias
