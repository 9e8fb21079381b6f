"""The result of one push, and the refusal that needs a person. Re-exported by service.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sevbridge.domain.errors import DomainError

Action = Literal["created", "updated", "unchanged", "adopted", "skipped"]


@dataclass(frozen=True)
class PushOutcome:
    sevdesk_id: str | None  # contact id or invoice id in sevDesk
    action: Action
    message: str  # human-readable, shown to the platform
    sevdesk_number: str | None = None  # invoice number / customer number when known
    contact_sevdesk_id: str | None = None  # for invoices: the resolved customer


class PushRefused(DomainError):
    """Permanent: retrying cannot help, a person must act (missing unit, number conflict, locked content…)."""

    code = "push_refused"
