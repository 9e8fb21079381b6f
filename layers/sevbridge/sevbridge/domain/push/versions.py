"""Source versions (the platform's `occurred_at`) decide whether an event is stale."""

from __future__ import annotations

from datetime import UTC, datetime

from sevbridge.domain.push.ports import MappingRow


def aware(moment: datetime) -> datetime:
    # A naive timestamp cannot be compared with an aware one; the platform contract is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_stale(row: MappingRow | None, version: datetime) -> bool:
    """Older than what was already applied. Equal is not stale: that is a retry of the same event."""
    return row is not None and row.version is not None and aware(version) < aware(row.version)


def newest(row: MappingRow | None, version: datetime) -> datetime:
    if row is None or row.version is None:
        return aware(version)
    return max(aware(row.version), aware(version))


def stale_message(row: MappingRow) -> str:
    applied = aware(row.version).isoformat() if row.version else "unknown"
    return f"stale: a newer version ({applied}) was already applied"
