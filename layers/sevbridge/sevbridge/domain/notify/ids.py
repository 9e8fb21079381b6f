"""Ids that sort by creation time: `<prefix>_<12 hex ms><4 hex sequence><6 hex random>`.

Sortable so that "newest first" and time ranges are key ranges in DynamoDB; the random tail keeps
processes apart."""

from __future__ import annotations

import re
import secrets
import threading
import time
from datetime import UTC, datetime

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def sortable_id(prefix: str, at: datetime | None = None) -> str:
    """Ids made in the same millisecond are ordered by a sequence number; `at` (default: now) lets ids
    follow the domain's clock."""
    global _last_ms, _seq
    ms = int(at.timestamp() * 1000) if at is not None else time.time_ns() // 1_000_000
    with _lock:
        if ms == _last_ms:
            _seq = (_seq + 1) % 0x10000
        else:
            _last_ms, _seq = ms, 0
        return f"{prefix}_{ms:012x}{_seq:04x}{secrets.token_hex(3)}"


def id_floor(prefix: str, at: datetime) -> str:
    """The smallest id created at or after `at` (for time-range queries over id-sorted keys)."""
    ms = int(at.astimezone(UTC).timestamp() * 1000)
    return f"{prefix}_{max(ms, 0):012x}"


def created_at_of(identifier: str) -> datetime:
    ms = int(identifier.split("_", 1)[1][:12], 16)
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def id_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}_[0-9a-f]{{22}}$")
