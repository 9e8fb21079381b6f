"""`python -m sevbridge.api.openapi_export docs/openapi.json` writes the OpenAPI document of the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def render() -> str:
    from sevbridge.api.app import openapi_document

    return json.dumps(json.loads(openapi_document()), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    target = Path(argv[1] if len(argv) > 1 else "docs/openapi.json")
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
