"""The 15-minute tick: per connected tenant, re-queue transfers that are stuck (imports arrive later);
then wake webhook deliveries that are due or overdue (workers/webhook_sweep.py)."""

from __future__ import annotations

from datetime import timedelta

from sevbridge import wiring
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.connection import ConnectionStatus
from sevbridge.workers.webhook_sweep import sweep_webhooks

# Longer than any wait between two attempts of a transfer (at most 15 minutes, see RetrySchedule). A
# transfer queued behind a tenant's failing one can wait longer; re-sending it then is harmless (the
# worker acknowledges messages of transfers that are already done).
STRANDED_AFTER = timedelta(minutes=30)
STUCK_SENDING_AFTER = timedelta(hours=2)


def tick() -> dict[str, int]:
    requeued = 0
    tenants = 0
    for connection in wiring.connection_store().list_connections():
        if connection.status is not ConnectionStatus.CONNECTED or not connection.settings.enabled:
            continue  # parked work resumes when a new token arrives, not on the clock
        tenants += 1
        ops = wiring.transfer_ops()
        count = ops.requeue_stranded(
            connection.platform_id, connection.tenant_id, queued_for=STRANDED_AFTER, sending_for=STUCK_SENDING_AFTER
        )
        # Parked work of a tenant that is connected again (normally resumed when the token is stored).
        count += ops.resume_parked(connection.platform_id, connection.tenant_id)
        if count:
            logger.warning(
                "re-queued stranded transfers",
                extra={"platform_id": connection.platform_id, "tenant_id": connection.tenant_id, "count": count},
            )
        requeued += count
    metrics.add_metric(name="TransfersRequeued", unit="Count", value=requeued)
    sweep_webhooks()
    return {"tenants": tenants, "requeued": requeued, "scheduled": 0}
