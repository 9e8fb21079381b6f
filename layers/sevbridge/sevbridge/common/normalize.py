"""Coerce sevDesk's loosely typed JSON into Python values (used by the sevDesk adapter and the pull domain).

sevDesk sends ids and most numbers as strings ("1035", "19.00"), booleans as "1"/"0", a position's
quantity sometimes as `true` (meaning 1) and many fields as null (api-facts §3, §10). Every reader
goes through these helpers so that quirk handling lives in one place. Each helper returns None for
null/"" and raises ValueError for anything it cannot interpret: silently guessing would corrupt
money data.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_decimal(value: object) -> Decimal | None:
    """ "19.00", 19, 19.0, true (=1, seen on quantities) → Decimal; null/"" → None."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        # str() gives the shortest round-trip form, so 11.9 stays 11.9 (not 11.9000000000000003…).
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def to_int(value: object) -> int | None:
    """ "1000", 1000, "1000.00", 1000.0 → 1000; a fractional value is an error, not truncated."""
    number = to_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ValueError(f"not an integer: {value!r}")
    return int(number)


def to_bool(value: object) -> bool | None:
    """ "1"/"0", 1/0, "true"/"false", true/false → bool; null/"" → None."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"not a boolean: {value!r}")


def to_id(value: object) -> str | None:
    """Ids as canonical strings: 5, "5", " 5 ", 5.0 → "5"; null/"" → None.

    Strings are the canonical form because that is how sevDesk sends them and how the domain
    stores them; numeric input is accepted because the spec types them as integers.
    """
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an id: {value!r}")
    if isinstance(value, str):
        return value.strip()
    number = to_int(value)
    return None if number is None else str(number)


def to_str(value: object) -> str | None:
    """Free text: null/"" → None; numbers → their string form; other text unchanged."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)
