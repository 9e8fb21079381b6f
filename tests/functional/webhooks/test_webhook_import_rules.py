"""The domain API the import worker (and backfills) will call, on moto with a simulated clock: each
notice is written in the same transaction as the run's state, `import.failed` at most once per 24 h per
tenant and cause (M5 seed rule), `import.completed` only with changes unless the tenant asks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from sevbridge.domain.notify import types as t
from tests.functional.webhooks.conftest import register
from tests.support.api_client import HandlerApiClient
from tests.support.receiver import FakeClock

pytestmark = pytest.mark.functional
TENANT = "school-42"


def run_record(aws: Any, run_id: str, state: str) -> dict[str, Any]:
    """Stands in for the import run's final-state write (the Jobs table item the import worker owns)."""
    return {
        "Put": {
            "TableName": aws.environment()["JOBS_TABLE"],
            "Item": {"pk": {"S": f"T#p#{TENANT}"}, "sk": {"S": f"RUN#{run_id}"}, "state": {"S": state}},
        }
    }


def finish_run(aws: Any, run_id: str, state: str, notices: Any) -> bool:
    from sevbridge import wiring
    from sevbridge.adapters.dynamo_outbox import write_with_notices

    written = write_with_notices(aws.environment()["OUTBOX_TABLE"], [run_record(aws, run_id, state)], notices)
    wiring.notifier().dispatch_soon(notices)
    return written


def outbox(aws: Any, prefix: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=aws.environment()["OUTBOX_TABLE"])["Items"]
    return [i for i in items if i["sk"]["S"].startswith(prefix)]


def runs(aws: Any) -> int:
    return len(boto3.client("dynamodb").scan(TableName=aws.environment()["JOBS_TABLE"])["Items"])


def platform_id() -> str:
    from sevbridge import wiring

    return next(p.platform_id for p in wiring.platform_store().list())


def test_an_import_failing_every_tick_for_3_days_notifies_exactly_3_times(
    api: HandlerApiClient, aws: Any, clock: FakeClock
) -> None:
    from sevbridge import wiring

    register(api, "http://127.0.0.1:9/unused", event_types=["import.failed"])
    notifier, pid = wiring.notifier(), platform_id()
    start = clock.now()
    sent_at: list[datetime] = []
    for tick in range(3 * 24 * 4):  # every 15 minutes for 72 hours
        notices = notifier.import_failed(
            pid,
            TENANT,
            cause="sevdesk_unavailable",
            message="sevDesk answered 503",
            retryable=True,
            import_id=f"r{tick}",
        )
        if finish_run(aws, f"r{tick}", "failed", notices):
            sent_at.append(clock.now())
        clock.advance(timedelta(minutes=15))

    assert [s - start for s in sent_at] == [timedelta(0), timedelta(hours=24), timedelta(hours=48)]
    assert len(outbox(aws, "DLV#")) == 3
    assert runs(aws) == 288  # every run's state was written, notified or not
    # Another cause is its own problem: reported at once, then also at most daily.
    other = notifier.import_failed(pid, TENANT, cause="invalid_token", message="401", retryable=False)
    assert finish_run(aws, "x", "failed", other)


def test_two_workers_racing_on_the_same_failure_send_one_notice_and_keep_both_states(
    api: HandlerApiClient, aws: Any, clock: FakeClock
) -> None:
    from sevbridge import wiring

    register(api, "http://127.0.0.1:9/unused", event_types=["import.failed"])
    notifier, pid = wiring.notifier(), platform_id()
    # Both read "no notice yet" before either writes (the pre-check passes for both)...
    first = notifier.import_failed(pid, TENANT, cause="sevdesk_unavailable", message="503", retryable=True)
    second = notifier.import_failed(pid, TENANT, cause="sevdesk_unavailable", message="503", retryable=True)
    assert first and second
    # ...then the guard in the transaction lets only one notice through; the loser's state still lands.
    assert finish_run(aws, "a", "failed", first) is True
    assert finish_run(aws, "b", "failed", second) is False
    assert len(outbox(aws, "DLV#")) == 1 and runs(aws) == 2


def test_import_completed_only_with_changes_unless_asked(api: HandlerApiClient, aws: Any, clock: FakeClock) -> None:
    from sevbridge import wiring

    register(api, "http://127.0.0.1:9/unused", event_types=["import.completed", "changes.available"])
    notifier, pid, now = wiring.notifier(), platform_id(), clock.now()
    quiet = t.ImportCompleted(
        import_id="r1", started_at=now, finished_at=now, kinds={"contacts": t.ImportKindCounts(read=0)}, changes=0
    )
    assert not notifier.import_completed(pid, TENANT, quiet)
    assert notifier.import_completed(pid, TENANT, quiet, notify_unchanged=True)
    busy = quiet.model_copy(update={"changes": 2, "kinds": {"contacts": t.ImportKindCounts(read=2, updated=2)}})
    assert finish_run(aws, "r2", "completed", notifier.import_completed(pid, TENANT, busy))
    assert not notifier.changes_available(pid, TENANT, cursor="c0", count=0)
    assert finish_run(aws, "r2c", "completed", notifier.changes_available(pid, TENANT, cursor="c1", count=2))
    bodies = sorted(i["type"]["S"] for i in outbox(aws, "DLV#"))
    assert bodies == ["changes.available", "import.completed"]


def test_a_cause_must_be_a_short_code(api: HandlerApiClient, aws: Any) -> None:
    from sevbridge import wiring
    from sevbridge.domain.errors import InvalidInput

    with pytest.raises(InvalidInput):
        wiring.notifier().import_failed(platform_id(), TENANT, cause="sevDesk is down!", message="x", retryable=True)
