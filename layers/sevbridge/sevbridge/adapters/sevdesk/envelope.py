"""The JSON bodies we send and the `{"objects": …}` envelopes sevDesk answers with."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sevbridge.adapters.sevdesk.errors import safe_path
from sevbridge.domain.sevdesk_errors import SevdeskServerError


def dump_body(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode()


def _json_default(value: object) -> object:
    if isinstance(value, Decimal) and value.is_finite():
        # JSON numbers; integral amounts stay integers ("quantity": 2, not 2.0).
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot send {type(value).__name__} to sevDesk as JSON")


def single_object(objects: Any, path: str) -> dict[str, Any] | None:
    """`{...}` or `[{...}]` → the object; null or `[]` → None; several rows are a caller's mistake."""
    if objects is None:
        return None
    if isinstance(objects, list):
        if len(objects) > 1:
            raise ValueError(f"expected at most one object from {safe_path(path)}, got {len(objects)}")
        objects = objects[0] if objects else None
        if objects is None:
            return None
    if not isinstance(objects, dict):
        raise unexpected_answer(f"expected an object, got {type(objects).__name__}", path)
    return objects


def unexpected_answer(message: str, path: str, *, method: str = "GET", status: int = 200) -> SevdeskServerError:
    return SevdeskServerError(
        f"unexpected sevDesk answer: {message}", status=status, method=method, path=safe_path(path)
    )
