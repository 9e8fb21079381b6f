"""An import killed half-way resumes with nothing lost or repeated: crashes at every point of a chunk's
publication, a Lambda about to time out handing the run on, records deleted while pages are walked,
transient sevDesk failures, and a 401 that parks the run until a new token is stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sevbridge import wiring
from sevbridge.adapters import aws_clients
from sevbridge.adapters.sevdesk.brake import default_brake
from sevbridge.domain.pull.runs import Phase
from sevdesk_sandbox import Fault
from sevdesk_sandbox.generate import generate
from tests.functional.pull.conftest import PullTenant, by_sevdesk_id
from tests.support.worker import drain_until_empty, queue_depth

pytestmark = pytest.mark.functional


class Crash(RuntimeError):
    """The process dies here (Lambda killed): nothing after this point happens in this delivery."""


@pytest.fixture
def crash_on() -> Iterator[Callable[[str, Callable[[dict[str, Any]], bool]], list[int]]]:
    """crash_on("PutItem", predicate): the first call whose parameters match raises Crash (once)."""
    hooks: list[Any] = []

    def install(operation: str, matches: Callable[[dict[str, Any]], bool]) -> list[int]:
        fired: list[int] = []

        def hook(params: dict[str, Any], **_: Any) -> None:
            if not fired and matches(params):
                fired.append(1)
                raise Crash(f"killed during {operation}")

        event = f"provide-client-params.dynamodb.{operation}"
        aws_clients.dynamodb().meta.events.register(event, hook)
        hooks.append((event, hook))
        return fired

    yield install
    for event, hook in hooks:
        aws_clients.dynamodb().meta.events.unregister(event, hook)


def contacts(tenant: PullTenant) -> set[str]:
    return {c["id"] for c in tenant.objects("Contact") if c["category"]["id"] == "3"}


def assert_reported_once(tenant: PullTenant, expected: set[str], run: dict[str, Any]) -> None:
    changes = by_sevdesk_id(tenant.feed(kind="contacts")[0])  # raises on a change reported twice
    assert set(changes) == expected
    kind = next(k for k in run["kinds"] if k["kind"] == "contacts")
    assert (kind["counts"]["created"], kind["counts"]["read"]) == (len(expected), len(expected))


@pytest.mark.parametrize(
    "where",
    [
        "intent written, nothing published",  # dies after the run's write-ahead record
        "some changes written, not published",  # dies between two change items of a chunk
        "published, index not updated",  # dies after publishing, before the index knows
    ],
)
def test_a_crash_anywhere_in_a_chunk_loses_and_repeats_nothing(tenant: PullTenant, crash_on: Any, where: str) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=90, seed=21, backdate=True)  # three chunks of changes
    changes_table = tenant.stack.tables["ChangesTable"]
    jobs_table = tenant.stack.tables["JobsTable"]
    seen = {"change puts": 0}

    def change_put(number: int) -> Callable[[dict[str, Any]], bool]:
        def matches(params: dict[str, Any]) -> bool:
            if params["TableName"] != changes_table or not params["Item"]["sk"]["S"].startswith("C#"):
                return False
            seen["change puts"] += 1
            return seen["change puts"] == number

        return matches

    if where == "intent written, nothing published":
        fired = crash_on("PutItem", change_put(41))  # the first item of the second chunk
    elif where == "some changes written, not published":
        fired = crash_on("PutItem", change_put(55))  # half-way through the second chunk
    else:  # the index update right after the first chunk was published
        fired = crash_on("BatchWriteItem", lambda params: jobs_table in params["RequestItems"])

    run = tenant.import_now(kinds=["contacts"])
    assert fired, "the crash never happened"
    assert run["state"] == "succeeded"
    assert_reported_once(tenant, contacts(tenant), run)


def test_a_run_about_to_time_out_continues_in_a_new_message(tenant: PullTenant, small_pages: Any) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=45, seed=22, backdate=True)
    started = tenant.start(kinds=["contacts"])
    # The worker's first delivery: time runs out after every page (as if the Lambda were nearly done).
    checks = iter([False, True, False, True, False, True, False, True, False, True] * 5)
    run = tenant.step(started["run_id"], should_stop=lambda: next(checks))
    assert run.state.value == "running" and run.handoffs == 1
    # The continuation is a new message in the tenant's group; the original one is acknowledged.
    drain_until_empty(tenant.stack, "ImportQueue")
    finished = tenant.run(started["run_id"])
    assert finished["state"] == "succeeded"
    assert finished["kinds"][0]["pages"] == 5  # 45 contacts, 10 a page, one overlapping row each
    assert_reported_once(tenant, contacts(tenant), finished)
    assert queue_depth(tenant.stack, "ImportQueue") == 0


def test_records_deleted_while_pages_are_walked_do_not_hide_others(tenant: PullTenant, small_pages: Any) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=30, seed=23, backdate=True)
    everyone = sorted(contacts(tenant), key=int)
    started = tenant.start(kinds=["contacts"])
    deleted: list[str] = []

    def delete_after_first_page() -> bool:
        run = wiring.import_store().get_run(tenant.platform_id, tenant.tenant_id, started["run_id"])
        if run is not None and run.kinds[0].pages == 1 and not deleted:
            # Someone deletes two contacts of the first page: every later row shifts left by two.
            for sevdesk_id in everyone[2:4]:
                tenant.delete("Contact", sevdesk_id)
                deleted.append(sevdesk_id)
        return False

    tenant.step(started["run_id"], should_stop=delete_after_first_page)
    reported = set(by_sevdesk_id(tenant.feed(kind="contacts")[0]))
    # The rows that moved into the page boundary are read (pages overlap), none is skipped.
    assert reported == set(everyone)
    assert set(deleted) <= reported  # they were read on page 1, before they went


def test_transient_sevdesk_failures_retry_and_the_last_attempt_records_the_failure(
    tenant: PullTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Failed attempts, not brake pauses (a pause is not an attempt; the next test shows that): the
    # brake would otherwise engage on the endless 503s and keep the run paused instead of failing it.
    monkeypatch.setattr(default_brake, "max_errors", 1000)
    generate(tenant.sandbox, tenant.account.account_id, contacts=10, seed=24, backdate=True)
    account_id = tenant.account.account_id
    tenant.sandbox.add_fault(
        Fault(kind="status", status=503, path_pattern="^/Contact$", account_id=account_id, times=3)
    )
    run = tenant.import_now(kinds=["contacts"])  # the client retries once per delivery; SQS delivers again
    assert run["state"] == "succeeded"
    assert_reported_once(tenant, contacts(tenant), run)

    tenant.sandbox.add_fault(
        Fault(kind="status", status=503, path_pattern="^/Invoice$", account_id=account_id, times=None)
    )
    failed = tenant.import_now(kinds=["invoices"])
    tenant.sandbox.clear_faults()
    assert failed["state"] == "failed" and "gave up after 5 attempts" in failed["error"]
    health = tenant.api.get(f"/v1/tenants/{tenant.tenant_id}/connection").json["imports"]
    assert health["kinds"]["invoices"]["last_error"] and health["kinds"]["invoices"]["last_success_at"] is None
    assert health["kinds"]["contacts"]["last_success_at"] and health["active_run_id"] is None


def test_rate_limits_and_brake_pauses_delay_an_import_but_never_use_up_its_attempts(
    tenant: PullTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sevDesk answering 429 for longer than five deliveries' worth of retries: every delivery ends in a
    pause (Retry-After or our brake), none is a failed attempt, so the run completes once sevDesk lets it."""
    # The brake's pause runs in real time and the test's queue redelivers at once: a short pause keeps
    # the number of paused deliveries well below the queue's receive limit.
    monkeypatch.setattr(default_brake, "pause", 0.3)
    generate(tenant.sandbox, tenant.account.account_id, contacts=10, seed=26, backdate=True)
    account_id = tenant.account.account_id
    tenant.sandbox.add_fault(
        Fault(kind="status", status=429, path_pattern="^/Contact$", account_id=account_id, times=16)
    )
    run = tenant.import_now(kinds=["contacts"])
    tenant.sandbox.clear_faults()
    assert run["state"] == "succeeded", run
    assert_reported_once(tenant, contacts(tenant), run)
    answered_429 = [r for r in tenant.sandbox.requests(account_id) if r.status == 429]
    assert len(answered_429) == 16  # more pauses than the run has attempts


def test_a_rejected_token_parks_the_import_until_a_new_one_is_stored(tenant: PullTenant) -> None:
    generate(tenant.sandbox, tenant.account.account_id, contacts=10, invoices=5, seed=25, backdate=True)
    new_token = tenant.sandbox.rotate_token(tenant.account.account_id)
    run = tenant.import_now()
    assert run["state"] == "waiting_for_credentials"
    connection = tenant.api.get(f"/v1/tenants/{tenant.tenant_id}/connection").json
    assert connection["status"] == "reconnect_required"
    refused = tenant.api.post(f"/v1/tenants/{tenant.tenant_id}/imports", json_body={})
    assert refused.status == 409 and refused.json["error"]["code"] == "reconnect_required"

    stored = tenant.api.put(f"/v1/tenants/{tenant.tenant_id}/connection", json_body={"sevdesk_token": new_token})
    assert stored.status == 200
    drain_until_empty(tenant.stack, "ImportQueue")
    resumed = tenant.run(run["run_id"])
    assert resumed["state"] == "succeeded", resumed
    assert {k["phase"] for k in resumed["kinds"]} == {Phase.DONE.value}
    assert_reported_once(tenant, contacts(tenant), resumed)
