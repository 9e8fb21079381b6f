"""The schedule tick (rate 15 minutes by default): wakes webhook deliveries that are due or overdue
(workers/webhook_sweep.py, with a budget of its own), then enqueues the tenants whose import is due (M5)
and, per connected tenant, re-queues transfers that are stuck. Tenants come from the sparse import index
(connected, enabled tenants only), never from a scan of the tenants table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sevbridge import wiring
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.pull.scheduling import ScheduledTenant
from sevbridge.workers.webhook_sweep import sweep_webhooks

# Longer than any wait between two attempts of a transfer (at most 15 minutes, see RetrySchedule). A
# transfer queued behind a tenant's failing one can wait longer; re-sending it then is harmless (the
# worker acknowledges messages of transfers that are already done).
STRANDED_AFTER = timedelta(minutes=30)
STUCK_SENDING_AFTER = timedelta(hours=2)
# Stop visiting tenants this long before the function's timeout; the rest stay due for the next tick.
RESERVE_MS = 10_000


def tick(context: Any = None) -> dict[str, int]:
    # First, because it is bounded (its own budget) and the tenant visits below use what time is left.
    # A failing sweep must not cost the tenants their visit (imports due, stranded transfers): it is
    # logged, the visits run, and the tick fails afterwards so the function's error alarm sees it.
    sweep_failure: Exception | None = None
    try:
        sweep_webhooks()
    except Exception as exc:
        logger.exception("webhook sweep failed; visiting the tenants anyway")
        sweep_failure = exc
    requeued = 0

    def requeue_stuck(tenant: ScheduledTenant) -> None:
        nonlocal requeued
        ops = wiring.transfer_ops()
        count = ops.requeue_stranded(
            tenant.platform_id, tenant.tenant_id, queued_for=STRANDED_AFTER, sending_for=STUCK_SENDING_AFTER
        )
        # Parked work of a tenant that is connected again (normally resumed when the token is stored).
        count += ops.resume_parked(tenant.platform_id, tenant.tenant_id)
        if count:
            logger.warning(
                "re-queued stranded transfers",
                extra={"platform_id": tenant.platform_id, "tenant_id": tenant.tenant_id, "count": count},
            )
        requeued += count

    def out_of_time() -> bool:
        return context is not None and context.get_remaining_time_in_millis() < RESERVE_MS

    result = wiring.import_scheduler().tick(visit=requeue_stuck, should_stop=out_of_time)
    if result.stopped_early or result.not_sent:
        logger.warning(
            "import tick incomplete: the rest stays due for the next tick",
            extra={"stopped_early": result.stopped_early, "not_sent": result.not_sent},
        )
    metrics.add_metric(name="TransfersRequeued", unit="Count", value=requeued)
    metrics.add_metric(name="ImportsScheduled", unit="Count", value=result.scheduled)
    if sweep_failure is not None:
        raise sweep_failure
    return {"tenants": result.tenants, "requeued": requeued, "scheduled": result.scheduled}
