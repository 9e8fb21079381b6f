"""Query parameters in sevDesk's style.

sevDesk filters on related objects with PHP bracket keys (`contact[id]=5&contact[objectName]=Contact`,
`tags[0][id]=7`), lists resources to embed comma-separated (`embed=contact,tags`) and reads
booleans as "true"/"false". Callers may pass the bracket keys literally or as nested mappings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

QueryParams = Mapping[str, object]


def encode_params(params: QueryParams | None) -> list[tuple[str, str]]:
    """`{"contact": {"id": 5}, "embed": ["a", "b"], "countAll": True}` →
    `[("contact[id]", "5"), ("embed", "a,b"), ("countAll", "true")]`; None values are dropped."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        _encode(key, value, pairs)
    return pairs


def _encode(key: str, value: object, pairs: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _encode(f"{key}[{sub_key}]", sub_value, pairs)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if any(isinstance(item, Mapping) for item in value):
            for index, item in enumerate(value):
                _encode(f"{key}[{index}]", item, pairs)
        else:
            pairs.append((key, ",".join(_scalar(item) for item in value if item is not None)))
    else:
        pairs.append((key, _scalar(value)))


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # updateAfter/createAfter take Unix seconds (api-facts §3); a naive time would be ambiguous.
        if value.tzinfo is None:
            raise ValueError("datetime query parameters must be timezone-aware")
        return str(int(value.timestamp()))
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    raise TypeError(f"unsupported query parameter type: {type(value).__name__}")
