"""One wording for validation problems, used by the event intake and the HTTP layer alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PROBLEM_BY_TYPE = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "json_invalid": "is not valid JSON",
}


def problem_of(error: Mapping[str, Any]) -> str:
    """The human part of a pydantic error, without pydantic's "Value error, " prefix and never the input."""
    problem = _PROBLEM_BY_TYPE.get(str(error.get("type", ""))) or str(error.get("msg", "is invalid"))
    return problem.removeprefix("Value error, ")
