"""What ships in the Lambda layer is what the tests ran with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_layer_requirements_are_pinned_to_the_tested_versions() -> None:
    layer = _pins(ROOT / "layers/sevbridge/requirements.txt")
    tested = _pins(ROOT / "constraints.txt")
    assert layer, "layer requirements must pin exact versions"
    mismatched = {name: (version, tested.get(name)) for name, version in layer.items() if tested.get(name) != version}
    assert not mismatched, f"layer pins differ from constraints.txt (layer, tested): {mismatched}"
