"""One-way imports: handlers → domain → adapters. The domain imports neither boto3 nor httpx."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "sevbridge" / "sevbridge"
FORBIDDEN_IN_DOMAIN = (
    "boto3",
    "botocore",
    "httpx",
    "sevbridge.adapters",
    "sevbridge.api",
    "sevbridge.wiring",
    "aws_lambda_powertools",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_is_pure() -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / "domain").rglob("*.py")
        for name in _imports(path)
        if name.startswith(FORBIDDEN_IN_DOMAIN)
    }
    assert not offenders, sorted(offenders)


def test_handlers_are_thin() -> None:
    functions = PACKAGE.parents[2] / "functions"
    for app in functions.glob("*/app.py"):
        lines = [line for line in app.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert len(lines) < 30, f"{app} has {len(lines)} lines: move logic into the sevbridge package"
        assert not any(name.startswith(("boto3", "httpx")) for name in _imports(app)), app


# What a function's cold start must not load: modules only other functions use (wiring.py builds lazily).
NOT_AT_COLD_START = {
    "api": {"sevbridge.workers", "standardwebhooks"},
    "transfer_worker": {"sevbridge.api", "standardwebhooks", "sevbridge.adapters.webhook_http"},
    "import_worker": {"sevbridge.api", "standardwebhooks", "sevbridge.adapters.webhook_http"},
    "import_scheduler": {
        "httpx",
        "tenacity",
        "standardwebhooks",
        "sevbridge.api",
        "sevbridge.adapters.sevdesk",
        "sevbridge.domain.push",
    },
    "webhook_dispatcher": {"tenacity", "sevbridge.api", "sevbridge.adapters.sevdesk", "sevbridge.domain.pull"},
}


@pytest.mark.parametrize("function", sorted(NOT_AT_COLD_START))
def test_a_cold_start_loads_only_what_the_function_uses(function: str) -> None:
    import json
    import subprocess
    import sys

    root = PACKAGE.parents[2]
    probe = (
        f"import sys, json; sys.path[:0] = [{str(PACKAGE.parent)!r}, {str(root)!r}]; "
        f"import functions.{function}.app; print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    )
    unwanted = {
        m for m in loaded for prefix in NOT_AT_COLD_START[function] if m == prefix or m.startswith(prefix + ".")
    }
    assert not unwanted, sorted(unwanted)
