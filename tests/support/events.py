"""Loads sample events from events/ and lets a test override only the fields it cares about."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    event = copy.deepcopy(event)
    for dotted, value in overrides.items():
        target = event
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return event
