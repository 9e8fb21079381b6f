"""The 15-minute tick: per tenant, re-queue transfers stranded in `queued` (imports arrive later)."""

from __future__ import annotations

from datetime import timedelta

from sevbridge import wiring
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.connection import ConnectionStatus

# Longer than any legitimate wait in the queue: the transfer queue's visibility timeout is 18 minutes.
STRANDED_AFTER = timedelta(minutes=30)


def tick() -> dict[str, int]:
    requeued = 0
    tenants = 0
    for connection in wiring.connection_store().list_connections():
        if connection.status is not ConnectionStatus.CONNECTED or not connection.settings.enabled:
            continue  # parked work resumes when a new token arrives, not on the clock
        tenants += 1
        count = wiring.transfer_ops().requeue_stranded(connection.platform_id, connection.tenant_id, STRANDED_AFTER)
        if count:
            logger.warning(
                "re-queued stranded transfers",
                extra={"platform_id": connection.platform_id, "tenant_id": connection.tenant_id, "count": count},
            )
        requeued += count
    metrics.add_metric(name="TransfersRequeued", unit="Count", value=requeued)
    return {"tenants": tenants, "requeued": requeued, "scheduled": 0}
