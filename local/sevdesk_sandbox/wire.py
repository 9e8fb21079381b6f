"""sevDesk's wire types: ids and numbers travel as strings, booleans as "0"/"1", references as
{"id": "<string>", "objectName": ...}. Everything the sandbox stores is already in this form."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def number_str(value: Decimal) -> str:
    """55 -> "55", 11.90 -> "11.9": sevDesk trims trailing zeros on invoice sums."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def wire(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_str(Decimal(str(value)))
    if isinstance(value, Decimal):
        return number_str(value)
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire(item) for item in value]
    return str(value)


def flag(value: Any) -> str:
    """Booleans as sevDesk returns them; accepts true/1/"1"/"true"."""
    if isinstance(value, str):
        return "1" if value.strip().lower() in {"1", "true", "yes", "on"} else "0"
    return "1" if value else "0"


def is_true(value: Any) -> bool:
    return flag(value) == "1"


def to_decimal(value: Any) -> Decimal:
    """Raises ValueError for anything that is not a number (booleans count as 1/0, like PHP)."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("missing number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return number


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def json_number(value: Any) -> int | float | None:
    """A stored numeric string as a JSON number (used where sevDesk answers with numbers)."""
    if value is None or value == "":
        return None
    number = to_decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def ref(object_id: Any, object_name: str) -> dict[str, Any]:
    return {"id": str(object_id), "objectName": object_name}


def ref_id(value: Any) -> str | None:
    """The id of a reference given as {"id": ...} or as a bare id."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "" or isinstance(value, bool | dict | list):
        return None
    return number_str(to_decimal(value)) if isinstance(value, float) else str(value)


def php_type(value: Any) -> str:
    """PHP's gettype() name, which sevDesk puts into its "expected array" messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        # PHP walks an associative array's values, so {"id": 5, ...} is reported by its first value.
        return php_type(next(iter(value.values()))) if value else "array"
    return "NULL" if value is None else "array"
