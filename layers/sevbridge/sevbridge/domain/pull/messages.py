"""Messages on the import FIFO queue (message group = tenant, so a tenant's imports never overlap)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from sevbridge.common.model import Model
from sevbridge.domain.ledger import new_transfer_id

# schedule: the tick found the tenant due (the worker creates the run); manual: POST …/imports made the
# run; continue: a run handed back before its Lambda timed out; resume: a parked run after a new token.
Trigger = Literal["schedule", "manual", "continue", "resume"]


class ImportMessage(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    platform_id: str
    tenant_id: str
    run_id: str
    trigger: Trigger
    # FIFO deduplication (5 minutes, per tenant): scheduled messages of one window collapse into one.
    dedup_id: str


def new_run_id() -> str:
    """Sortable by creation like transfer ids (same generator), with its own prefix."""
    return "im_" + new_transfer_id().removeprefix("tr_")
