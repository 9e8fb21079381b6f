"""Import worker: one SQS FIFO record = one step of a tenant's import run (group = tenant)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sevbridge.common import cold_start
from sevbridge.common.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from sevbridge.domain.connection import Connection
    from sevbridge.domain.pull.ports import SevdeskReader

# Hand the run on to a new message when less than this is left: one page (with sevDesk's retries and
# backoff) and its checkpoint fit in it.
RESERVE_MS = 60_000


def _reader(connection: Connection, token: str) -> SevdeskReader:
    # The same per-tenant client (brake, backoff, 401 handling) as transfers. Imported with the first step
    # that reads sevDesk (with httpx), not on the cold start: a dropped or handed-on message reads nothing.
    from sevbridge import wiring

    with cold_start.first_use():
        from sevbridge.adapters.sevdesk.reader import SevdeskImportReader

    return SevdeskImportReader(wiring.sevdesk_client(connection, token))


def _retry_soon(record: SQSRecord, delay: int) -> None:
    """Sooner than the queue's 30-minute visibility timeout: the run's backoff or pause."""
    from sevbridge.adapters.sqs_visibility import SqsVisibility
    from sevbridge.config import get_settings

    if SqsVisibility(get_settings().import_queue_url).hold_back([(record.receipt_handle, delay)]):
        logger.warning("could not shorten the retry delay; the queue's visibility timeout applies")


def handle_record(record: SQSRecord, lambda_context: Any = None) -> None:
    # The message model, the config and the import runner (the pull domain, its stores) load with the
    # first record, not on the cold start; the sevDesk reader only with the first step that reads.
    with cold_start.first_use():
        from sevbridge import wiring
        from sevbridge.domain.pull.messages import ImportMessage
        from sevbridge.domain.pull.runner import RetryImportLater

    message = ImportMessage.model_validate({**json.loads(record.body), "dedup_id": record.message_id})
    logger.append_keys(platform_id=message.platform_id, tenant_id=message.tenant_id, run_id=message.run_id)
    receive_count = int(record.attributes.approximate_receive_count or 1)

    def should_stop() -> bool:
        return lambda_context is not None and lambda_context.get_remaining_time_in_millis() < RESERVE_MS

    with cold_start.first_use():  # the first record also loads the runner's adapters (boto3 among them)
        runner = wiring.import_runner(_reader)
    try:
        run = runner.handle(message, receive_count=receive_count, should_stop=should_stop)
    except RetryImportLater as exc:
        logger.warning(
            "import will be retried",
            extra={"reason": str(exc), "receive_count": receive_count, "delay_seconds": exc.delay_seconds},
        )
        _retry_soon(record, exc.delay_seconds)
        raise
    if run is None:
        logger.info("import message dropped", extra={"trigger": message.trigger})
        return
    counts = run.counts
    logger.info(
        "import step done",
        extra={
            "state": run.state.value,
            "requests": run.requests,
            "handoffs": run.handoffs,
            **{f"records_{name}": value for name, value in counts.model_dump().items()},
        },
    )
    metrics.add_metric(name=f"Import_{run.state.value}", unit="Count", value=1)
