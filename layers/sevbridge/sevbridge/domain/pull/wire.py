"""Reading sevDesk's live wire shape: `objects` as a list or one object, references as {id, objectName}
or bare ids, numbers and flags as strings, many nulls (api-facts §3, §10). Values are coerced by
sevbridge.common.normalize; these helpers add the shapes around them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sevbridge.common.normalize import to_bool, to_decimal, to_id, to_int, to_str

CENT = Decimal("0.01")
Row = Mapping[str, Any]


def rows(value: Any) -> list[Row]:
    """A list of objects from `[...]`, `{...}` or null (embedded lists, `objects` envelopes)."""
    if isinstance(value, list):
        return [item for item in value if isinstance(item, Mapping)]
    return [value] if isinstance(value, Mapping) else []


def ref_id(value: Any) -> str | None:
    """The id of a reference given as {"id": …} or bare."""
    if isinstance(value, Mapping):
        return to_id(value.get("id"))
    if isinstance(value, list):
        return None
    return to_id(value)


def embedded(value: Any) -> Row | None:
    """The referenced object when it was embedded (more than {id, objectName}), else None."""
    if isinstance(value, Mapping) and set(value) - {"id", "objectName"}:
        return value
    return None


def text(value: Any) -> str | None:
    """Free text, stripped; blank is None."""
    result = to_str(value)
    if result is None:
        return None
    result = result.strip()
    return result or None


def amount(value: Any) -> Decimal | None:
    """Money in cents precision: "55" → 55.00, "11.9" → 11.90."""
    number = to_decimal(value)
    return None if number is None else number.quantize(CENT)


def exact(value: Any) -> Decimal | None:
    """A quantity, unit price or rate exactly as sevDesk has it, without exponent or trailing zeros."""
    number = to_decimal(value)
    if number is None:
        return None
    normal = number.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def integer(value: Any) -> int | None:
    return to_int(value)


def flag(value: Any) -> bool:
    return bool(to_bool(value))


def moment(value: Any) -> datetime | None:
    """sevDesk's ISO-8601 timestamps with offset ("2024-04-08T00:00:00+02:00"); None if absent/odd."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def day(value: Any) -> date | None:
    """A document date in sevDesk's own zone (it stores dates at local midnight, with the offset)."""
    parsed = moment(value)
    return parsed.date() if parsed is not None else None
