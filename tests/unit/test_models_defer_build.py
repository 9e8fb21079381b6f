"""Every pydantic model of the package derives from `sevbridge.common.model.Model` (defer_build): a model
built at import time costs every cold start, whether or not the invocation uses it (docs/benchmarks.md)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "sevbridge" / "sevbridge"
PLAIN_MODEL = re.compile(r"^class \w+\((?:pydantic\.)?BaseModel\b", re.MULTILINE)


def test_no_model_derives_from_pydantic_base_model_directly() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "model.py" and PLAIN_MODEL.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"derive from sevbridge.common.model.Model instead: {offenders}"
