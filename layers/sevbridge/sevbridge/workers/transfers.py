"""Transfer worker: one SQS FIFO record = one transfer to run (the message carries its document; a
message without one — too big, or sent before — has it on the transfer's ledger item).

A failed record is held back for the delay its failure asked for (RetryLater.delay: a growing backoff
per real attempt, or the length of a pause) by changing its visibility, instead of waiting out the
queue's 18-minute visibility timeout. SQS FIFO holds a message group back while any of its messages
is in flight, so every failed record of a group gets the same delay (the longest any of them asked
for: the group could not come back sooner anyway) and the group comes back together, in order.

A batch runs in lanes (domain/lanes.py): the message groups (tenants) side by side, and within a
tenant's records, those that touch different things (document, contact, invoice number) side by side
too — up to TRANSFER_LANES_PER_TENANT lanes per tenant. A transfer spends its time waiting on sevDesk,
and FIFO order matters per document and per contact, not per batch. Each lane's records run one after
the other, in order; a failed record fails the rest of its lane, unprocessed, so nothing overtakes it;
other lanes go on. A pause (sevDesk's 429, our brake) or the end of the invocation's time stops every
lane of that tenant before its next record: the whole group waits. The sevDesk client's request gate
(adapters/sevdesk/gate.py) decides what sevDesk sees of a tenant, however many lanes run: a serial
stream, or a second request on the wire only while fewer than SEVDESK_TENANT_REQUESTS_PER_SECOND of the
tenant's requests count (each from its start until a second after its answer).

The invocation's remaining time is watched: a transfer is not started without time for it, and the
sevDesk client starts no call it could not finish, so nothing is cut off mid-call: the transfer is handed
back and comes again at once.

A live transfer writes no claim before it calls sevDesk (domain/transfer_runner.py): each record's
receive count, message id and send time tell the runner whether an earlier delivery may have died
mid-attempt, so that it reconciles before creating.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sevbridge import wiring
from sevbridge.adapters import aws_clients
from sevbridge.adapters.sqs_visibility import SqsVisibility
from sevbridge.common.model import Model
from sevbridge.common.observability import logger, metrics
from sevbridge.config import get_settings
from sevbridge.domain.connection import Connection
from sevbridge.domain.connection_reuse import ReusedConnections
from sevbridge.domain.intake_models import DocumentKey
from sevbridge.domain.lanes import LaneKeys, plan_lanes
from sevbridge.domain.ledger import TransferDocument, TransferKind
from sevbridge.domain.transfer_runner import (
    Delivery,
    PushServiceFactory,
    PushServicePort,
    RetryLater,
    TransferRunner,
)

# Kept for the ledger write and the visibility change after the last transfer of an invocation.
RESERVE_SECONDS = 5.0
# A transfer is started only with time for this many sevDesk calls of the longest allowed duration.
CALLS_TO_START = 2
# Lanes of one batch run at once (a batch holds at most 10 records, so at most 10 lanes).
LANE_THREADS = 10


class TransferMessage(Model):
    platform_id: str
    tenant_id: str
    transfer_id: str
    lane: LaneKeys | None = None  # absent in messages sent before lanes: such a message runs alone
    # The transfer's document (adapters/transfer_message.py); absent: it is on the transfer's ledger item.
    doc: TransferDocument | None = None


class NoTimeToStart(RuntimeError):
    """Too little time left in this invocation to start the transfer; it comes back at once."""


@dataclass
class _Invocation:
    """What one batch invocation knows: its deadline, the delay each failed message group asked for, and
    the groups whose lanes must not start another record (a pause or no time left)."""

    deadline: float  # time.monotonic() value, the reserve already taken off
    connections: ReusedConnections | None = None  # each tenant's connection, read once for the batch
    delays: dict[str, float] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    # Records handed back without reaching the runner (docs/ledger.md, "Messages that come back").
    unrun: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def hold_back(self, group: str, seconds: float, *, whole_group: bool = False) -> None:
        with self._lock:  # lanes of one group fail side by side
            self.delays[group] = max(seconds, self.delays.get(group, 0.0))
            if whole_group:
                self.stopped.add(group)

    def is_stopped(self, group: str) -> bool:
        with self._lock:
            return group in self.stopped

    def not_run(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            self.unrun.extend(records)


_invocation: contextvars.ContextVar[_Invocation | None] = contextvars.ContextVar("transfer_invocation", default=None)


def _push_factory(time_left: Callable[[], float] | None) -> PushServiceFactory:
    def build(connection: Connection, token: str) -> PushServicePort:
        # The push engine (sevDesk client, httpx, the push domain) loads with the first transfer that goes
        # to sevDesk, not on the cold start: a message of a transfer that is done, parked or paused never
        # needs it. `make bench` measures import + first message, so the move shows (issue 10 §4).
        from sevbridge.adapters.sevdesk.gateway import build_push_service, shared_reference_cache
        from sevbridge.domain.intake import business_day
        from sevbridge.domain.push.service import Patience

        settings = get_settings()
        client = wiring.sevdesk_client(connection, token, time_left)
        today = business_day(wiring.clock().now())
        patience = Patience(
            longest_wait=settings.sevdesk_max_backoff_seconds,
            longest_pause=settings.sevdesk_max_throttle_wait_seconds,
            time_left=time_left,
        )
        service: PushServicePort = build_push_service(
            client,
            connection.platform_id,
            connection.tenant_id,
            connection.settings,
            today,
            patience=patience,
            reference_cache=shared_reference_cache(settings.tenants_table),
            defer_own_mapping=True,  # the runner writes it with the outcome (docs/ledger.md)
        )
        return service

    return build


def load_push_engine() -> None:
    """Imports what sending a transfer to sevDesk needs, before threads that send transfers start."""
    import sevbridge.adapters.sevdesk.gateway
    import sevbridge.domain.intake
    import sevbridge.domain.push.service  # noqa: F401


def runner(
    time_left: Callable[[], float] | None = None, connections: ReusedConnections | None = None
) -> TransferRunner:
    # Built from the composition root's cached parts, so wiring.reset() reaches it too.
    built = wiring.transfer_runner(_push_factory(time_left))
    built.reused = connections
    return built


def process_batch(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Runs a batch like Lambda's partial batch response expects, then holds failed records back."""
    remaining = context.get_remaining_time_in_millis() / 1000
    invocation = _Invocation(
        deadline=time.monotonic() + remaining - RESERVE_SECONDS,
        connections=ReusedConnections(wiring.connection_store()),
    )
    records: list[dict[str, Any]] = list(event.get("Records", []))
    groups: dict[str, list[dict[str, Any]]] = {}
    for raw in records:
        groups.setdefault(_group_of(raw), []).append(raw)
    max_lanes = get_settings().transfer_lanes_per_tenant
    lanes = [
        [group_records[i] for i in lane]
        for group_records in groups.values()
        for lane in plan_lanes([_lane_keys(raw) for raw in group_records], max_lanes)
    ]
    token = _invocation.set(invocation)
    try:
        failed = _run_lanes(lanes)
    finally:
        _invocation.reset(token)
    # All-failed batches are reported per record like partial ones (not raised), so their delays apply too.
    response: PartialItemFailureResponse = {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r.get("messageId") in failed]
    }
    _keep_unrun(invocation)
    _hold_back_failed(event, response, invocation)
    return response


def _keep_unrun(invocation: _Invocation) -> None:
    """A record handed back without running (its lane failed or its group stopped before it, or no time
    to start it) may be on its way to the dead-letter queue as well: one received before (receive count
    ≥ 2) that carries its document gets its transfer item now, as the runner gives it to a redelivery it
    runs, so the stranded-work tick (which reads items) can re-send it. Off the happy path: a first
    delivery is left alone — it still has a message, and receives to go."""
    for raw in invocation.unrun:
        if int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1) < 2:
            continue
        try:
            message = TransferMessage.model_validate_json(raw.get("body") or "")
            if message.doc is None:
                continue  # its item exists: the message has no document because the item has it
            runner().keep(
                message.platform_id,
                message.tenant_id,
                message.transfer_id,
                document=_document_of(message),
                carried=message.doc,
            )
        except Exception as exc:
            # Only the type: exception text can carry data. The record is handed back all the same.
            logger.warning("could not keep a handed-back transfer's item", extra={"error": type(exc).__name__})


def _group_of(raw: dict[str, Any]) -> str:
    return str((raw.get("attributes") or {}).get("MessageGroupId") or "")


def _lane_keys(raw: dict[str, Any]) -> LaneKeys | None:
    """The message's lane keys; None (runs alone) when it has none or cannot be read."""
    try:
        lane = json.loads(raw.get("body") or "").get("lane")
        return None if lane is None else LaneKeys.model_validate(lane)
    except (ValueError, AttributeError, ValidationError):
        return None


def _run_lanes(lanes: list[list[dict[str, Any]]]) -> set[str]:
    """The message ids that failed (or were not run because an earlier one of their lane failed)."""
    if len(lanes) <= 1:
        return set().union(*(_run_lane(records) for records in lanes))
    # Created here, not first in the threads: creating boto3 clients is not thread-safe. The push engine
    # is imported here too, so that lanes never import the same modules side by side for the first time.
    aws_clients.dynamodb(), aws_clients.kms(), aws_clients.sqs()
    load_push_engine()
    with ThreadPoolExecutor(max_workers=min(LANE_THREADS, len(lanes)), thread_name_prefix="lane") as pool:
        # Each thread sees this invocation (its deadline, its per-group delays) through a context copy.
        futures = [pool.submit(contextvars.copy_context().run, _run_lane, records) for records in lanes]
        return set().union(*(future.result() for future in futures))


def _run_lane(records: list[dict[str, Any]]) -> set[str]:
    """One lane's records in order; the first failure fails it and every later record of the lane, and
    a record is not started once its group was stopped (a pause, or no time left) by any lane."""
    invocation = _invocation.get()
    try:
        for index, raw in enumerate(records):
            if invocation is not None and invocation.is_stopped(_group_of(raw)):
                invocation.not_run(records[index:])
                return {str(r.get("messageId")) for r in records[index:]}
            try:
                handle_record(SQSRecord(raw))
            except Exception as exc:
                if invocation is not None:
                    invocation.not_run(records[index + 1 :] if not isinstance(exc, NoTimeToStart) else records[index:])
                # Only the type: exception text can carry data. The runner logged what it knows.
                logger.warning(
                    "transfer message failed; the later messages of its lane wait with it",
                    extra={"error": type(exc).__name__, "held_back": len(records) - index},
                )
                return {str(r.get("messageId")) for r in records[index:]}
        return set()
    finally:
        logger.thread_safe_clear_keys()


def handle_record(record: SQSRecord) -> None:
    invocation = _invocation.get() or _Invocation(deadline=float("inf"))
    group = record.attributes.message_group_id or ""
    try:
        message = TransferMessage.model_validate_json(record.body)
    except ValidationError:
        # Never ours to run: straight back, so it reaches the dead-letter queue in a few receives.
        invocation.hold_back(group, 0)
        raise
    # Per thread: the lanes of a batch run side by side (process_batch).
    logger.thread_safe_append_keys(
        platform_id=message.platform_id, tenant_id=message.tenant_id, transfer_id=message.transfer_id
    )
    settings = get_settings()
    time_left = invocation.time_left if invocation.deadline != float("inf") else None
    if time_left is not None and time_left() < CALLS_TO_START * settings.sevdesk_timeout_seconds:
        invocation.hold_back(group, 0, whole_group=True)
        raise NoTimeToStart("too little time left in this invocation; the transfer comes back at once")
    try:
        transfer = runner(time_left, invocation.connections).run(
            message.platform_id,
            message.tenant_id,
            message.transfer_id,
            document=_document_of(message),
            delivery=_delivery_of(record),
            carried=message.doc,
        )
    except RetryLater as exc:
        # A pause (429, our brake) is the tenant's, not the document's: every lane of it waits.
        invocation.hold_back(group, exc.delay, whole_group=exc.pause)
        metrics.add_metric(name="TransferRetried", unit="Count", value=1)
        raise
    except Exception:
        # The ledger itself failed (e.g. DynamoDB throttled): back off by how often it came already.
        receives = int(record.attributes.approximate_receive_count or 1)
        invocation.hold_back(group, wiring.retry_schedule().delay_after(receives))
        raise
    if transfer is not None:
        logger.info(
            "transfer processed",
            extra={
                "status": transfer.status.value,
                "kind": transfer.kind.value,
                "sevdesk_id": transfer.sevdesk_id,
                "attempts": transfer.attempts,
            },
        )
        metrics.add_metric(name=f"Transfer_{transfer.status.value}", unit="Count", value=1)


def _delivery_of(record: SQSRecord) -> Delivery:
    """What the runner needs to know whether an earlier delivery may have died mid-attempt (no claim is
    written before a live attempt): the message, how often it was received, when it was sent."""
    sent = record.attributes.sent_timestamp
    return Delivery(
        message_id=record.message_id,
        receives=int(record.attributes.approximate_receive_count or 1),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
    )


def _document_of(message: TransferMessage) -> DocumentKey | None:
    """The document the message's lane keys name ("<kind>#<source id>"), if they name one we know."""
    if message.lane is None:
        return None
    kind, _, source_id = message.lane.document.partition("#")
    try:
        return DocumentKey(kind=TransferKind(kind), source_id=source_id)
    except (ValueError, ValidationError):
        return None


def _hold_back_failed(event: dict[str, Any], response: PartialItemFailureResponse, invocation: _Invocation) -> None:
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    receipts = []
    for record in event.get("Records", []):
        if record.get("messageId") not in failed:
            continue
        group = (record.get("attributes") or {}).get("MessageGroupId") or ""
        delay = invocation.delays.get(group)
        if delay is not None:
            receipts.append((record["receiptHandle"], delay))
    if not receipts:
        return
    missed = SqsVisibility(get_settings().transfer_queue_url).hold_back(receipts)
    if missed:
        logger.warning(
            "could not set the retry delay of failed messages; they come back after the visibility timeout",
            extra={"count": missed},
        )
