"""Source versions (the platform's `occurred_at`) decide whether an event is stale.

Two versions count: the newest one applied to sevDesk (`MappingRow.version`) and the newest one
received but deliberately skipped (`MappingRow.seen_version`: a draft, automatic transfer off). An
automatic event older than either is stale: a "sent" delivered late must not create an invoice the
platform has since turned back into a draft. A manual request is explicit, so only an applied newer
version stops it (`count_seen=False`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sevbridge.domain.push.ports import MappingRow


def aware(moment: datetime) -> datetime:
    # A naive timestamp cannot be compared with an aware one; the platform contract is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _latest(row: MappingRow, *, count_seen: bool) -> datetime | None:
    known = [v for v in (row.version, row.seen_version if count_seen else None) if v is not None]
    return max((aware(v) for v in known), default=None)


def is_stale(row: MappingRow | None, version: datetime, *, count_seen: bool = True) -> bool:
    """Older than what was already applied (or, with `count_seen`, received and skipped).
    Equal is not stale: that is a retry of the same event."""
    if row is None:
        return False
    latest = _latest(row, count_seen=count_seen)
    return latest is not None and aware(version) < latest


def newest(row: MappingRow | None, version: datetime) -> datetime:
    """The applied version after applying `version` (seen-only versions don't count)."""
    if row is None or row.version is None:
        return aware(version)
    return max(aware(row.version), aware(version))


def newest_seen(row: MappingRow | None, version: datetime) -> datetime:
    """The seen version after skipping `version`."""
    if row is None or row.seen_version is None:
        return aware(version)
    return max(aware(row.seen_version), aware(version))


def stale_message(row: MappingRow, *, count_seen: bool = True) -> str:
    applied = aware(row.version) if row.version else None
    seen = aware(row.seen_version) if count_seen and row.seen_version else None
    if seen is not None and (applied is None or seen > applied):
        return f"stale: a newer version ({seen.isoformat()}) was already received and not transferred"
    return f"stale: a newer version ({applied.isoformat() if applied else 'unknown'}) was already applied"
