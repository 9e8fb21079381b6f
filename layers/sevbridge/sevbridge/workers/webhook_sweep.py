"""The tick's webhook part: deliveries due before the next tick, or overdue, go (back) on the queue."""

from __future__ import annotations

from sevbridge import wiring
from sevbridge.common.observability import logger, metrics
from sevbridge.domain.notify.sweeper import SweepReport

BUDGET_SECONDS = 20.0  # the tick shares its invocation with transfers (and imports); the rest waits 15 min


def sweep_webhooks() -> SweepReport:
    report = wiring.webhook_sweeper().sweep(budget_seconds=BUDGET_SECONDS)
    if report.woken or report.rescued or report.unfinished:
        logger.info(
            "webhook deliveries enqueued by the tick",
            extra={"woken": report.woken, "rescued": report.rescued, "unfinished": report.unfinished},
        )
    metrics.add_metric(name="WebhooksRescued", unit="Count", value=report.rescued)
    return report
