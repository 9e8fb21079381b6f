"""A tenant's import state: per kind the watermark and health, and which run is active.

One item per tenant. The watermark of a kind is the newest sevDesk `update` a completed pass saw
(never later than when that pass started, so a sevDesk clock running ahead cannot push it past
changes still to come); the next pass asks for `updateAfter = watermark − OVERLAP`, which also
catches records committed a little late. Only the import worker writes this item.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from sevbridge.common.model import Model
from sevbridge.domain.pull.records import ImportKind

OVERLAP = timedelta(minutes=5)


class KindHealth(Model):
    watermark: datetime | None = None
    last_success_at: datetime | None = None
    last_full_at: datetime | None = Field(default=None, description="Last full reconciliation")
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_run_id: str | None = None


class TenantImportState(Model):
    platform_id: str
    tenant_id: str
    active_run_id: str | None = None
    kinds: dict[ImportKind, KindHealth] = Field(default_factory=dict)
    revision: int = 0

    def health(self, kind: ImportKind) -> KindHealth:
        return self.kinds.get(kind) or KindHealth()

    def reconcile_due(self, kind: ImportKind, now: datetime, every: timedelta) -> bool:
        last = self.health(kind).last_full_at
        return last is None or now - last >= every
