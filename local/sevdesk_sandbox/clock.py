"""Time as sevDesk shows it: ISO-8601 with the Berlin offset (+01:00/+02:00), and the date
formats its API accepts on input (dd.mm.yyyy, Unix seconds, ISO)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _berlin() -> tzinfo:
    try:
        return ZoneInfo("Europe/Berlin")
    except ZoneInfoNotFoundError:  # no tz database: a fixed CET offset still looks like sevDesk
        return timezone(timedelta(hours=1))


BERLIN = _berlin()

# sevDesk shows this on system objects that were never edited (api-facts §10).
EPOCH_UPDATE = "1970-01-01T01:00:01+01:00"

_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def berlin_now() -> datetime:
    return datetime.now(BERLIN).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.astimezone(BERLIN).isoformat(timespec="seconds")


def parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BERLIN)


def parse_unix(value: Any) -> datetime:
    """Unix seconds (as the incremental filters take them); raises ValueError otherwise."""
    return datetime.fromtimestamp(float(value), UTC)


def parse_document_date(value: Any) -> datetime:
    """A document date as sevDesk accepts it: "dd.mm.yyyy", Unix seconds or ISO. ValueError if none."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, int | float):
        return parse_unix(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text) and not _DOTTED.match(text):
        return parse_unix(text)
    dotted = _DOTTED.match(text)
    if dotted:
        day, month, year = (int(part) for part in dotted.groups())
        return datetime(year, month, day, tzinfo=BERLIN)
    parsed = parse_iso(text)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed


def document_date_iso(value: Any) -> str:
    """Dates are stored at Berlin midnight, the way sevDesk returns invoiceDate."""
    moment = parse_document_date(value).astimezone(BERLIN)
    return iso(datetime.combine(moment.date(), datetime.min.time(), tzinfo=BERLIN))


def dotted(day: date | datetime) -> str:
    # Four-digit years on every platform (glibc's %Y gives "1" for the year 1).
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"
