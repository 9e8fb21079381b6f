"""Comparing what the platform sent with what sevDesk holds: blank-insensitive, type-aware."""

from __future__ import annotations

import re

_NOT_PHONE = re.compile(r"[^\d+]")


def text(value: str | None) -> str:
    """None, '' and '  ' are the same; inner whitespace runs count as one blank."""
    return " ".join((value or "").split())


def comm_value(type_: str, value: str) -> str:
    kind = type_.upper()
    if kind == "EMAIL":
        return value.strip().casefold()
    if kind in ("PHONE", "MOBILE", "FAX"):
        digits = _NOT_PHONE.sub("", value)
        return "+" + digits[2:] if digits.startswith("00") else digits
    if kind == "WEB":
        url = value.strip().casefold()
        url = re.sub(r"^[a-z]+://", "", url)
        url = url.removeprefix("www.")
        return url.rstrip("/")
    return text(value).casefold()


def comm_group(type_: str) -> str:
    """Phone, mobile and fax numbers form one pool: a number kept as PHONE is not re-added as MOBILE."""
    kind = type_.upper()
    return "PHONE" if kind in ("PHONE", "MOBILE", "FAX") else kind
