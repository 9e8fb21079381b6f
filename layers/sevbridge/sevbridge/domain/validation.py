"""One wording for validation problems, used by the event intake and the HTTP layer alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PROBLEM_BY_TYPE = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "json_invalid": "is not valid JSON",
    "string_unicode": "is not valid Unicode text",
}


def problem_of(error: Mapping[str, Any]) -> str:
    """The human part of a pydantic error, without pydantic's "Value error, " prefix and never the input.

    Pydantic's messages are built from the schema (allowed values, patterns, limits), except for a few
    that quote the input; those get a wording of our own."""
    error_type = str(error.get("type", ""))
    if error_type in _PROBLEM_BY_TYPE:
        return _PROBLEM_BY_TYPE[error_type]
    ctx = error.get("ctx") or {}
    if error_type == "union_tag_invalid":  # "Input tag '<input>' found using ..."
        return f"must be one of {ctx.get('expected_tags', 'the documented values')}"
    problem = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if problem.startswith("value is not a valid email address"):  # the reason may quote the address
        return "is not a valid e-mail address"
    return problem
