"""Composition root: builds the adapters and use cases from the typed config, lazily and once per
execution environment. `reset()` forgets everything (tests and the local stack change the environment).

Every builder imports what it builds when it is first called, not when this module is imported: a
function's cold start loads only the adapters it uses (the import scheduler never loads the sevDesk
client, the dispatcher never loads the pull domain, and so on).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from sevbridge.config import get_settings, reset_settings

if TYPE_CHECKING:
    from sevbridge.adapters.dynamo_applied_versions import DynamoAppliedVersions
    from sevbridge.adapters.dynamo_backfills import DynamoBackfillStore
    from sevbridge.adapters.dynamo_changes import DynamoChangeFeed
    from sevbridge.adapters.dynamo_connections import DynamoConnectionStore
    from sevbridge.adapters.dynamo_endpoints import CachedEndpointCatalog, DynamoEndpointStore
    from sevbridge.adapters.dynamo_imports import DynamoImportStore
    from sevbridge.adapters.dynamo_ledger import DynamoLedgerStore
    from sevbridge.adapters.dynamo_outbox import DynamoDeliveryStore
    from sevbridge.adapters.dynamo_platform_side import DynamoPlatformSide
    from sevbridge.adapters.dynamo_platforms import DynamoPlatformStore
    from sevbridge.adapters.kms_secrets import KmsSecretSealer
    from sevbridge.adapters.kms_vault import KmsTokenVault
    from sevbridge.adapters.s3_backfill_objects import S3BackfillObjects
    from sevbridge.adapters.sevdesk.client import SevdeskClient
    from sevbridge.adapters.sevdesk.probe import HttpSevdeskProbe
    from sevbridge.adapters.sqs_backfill_queue import SqsBackfillQueue
    from sevbridge.adapters.sqs_import_queue import SqsImportQueue
    from sevbridge.adapters.sqs_transfer_queue import SqsTransferQueue
    from sevbridge.adapters.sqs_webhook_queue import SqsDispatchQueue
    from sevbridge.adapters.tenant_eraser import TenantEraserWithBackfills
    from sevbridge.adapters.webhook_http import HttpWebhookSender
    from sevbridge.common.clock import SystemClock
    from sevbridge.domain.backfill.service import BackfillService
    from sevbridge.domain.backfill.worker import BackfillWorker
    from sevbridge.domain.connection import Connection
    from sevbridge.domain.connections import ConnectionService
    from sevbridge.domain.intake import Intake
    from sevbridge.domain.notify.admin import WebhookDeliveries, WebhookEndpoints
    from sevbridge.domain.notify.dispatcher import Dispatcher
    from sevbridge.domain.notify.notifier import Notifier
    from sevbridge.domain.notify.sweeper import Sweeper
    from sevbridge.domain.pull.runner import ImportRunner, ReaderFactory
    from sevbridge.domain.pull.scheduling import ImportScheduler
    from sevbridge.domain.pull.service import ImportService
    from sevbridge.domain.tenant_overview import TenantOverview
    from sevbridge.domain.transfer_ops import TransferOps
    from sevbridge.domain.transfer_runner import PushServiceFactory, RetrySchedule, TransferRunner


# --- shared ------------------------------------------------------------------------------------------
def _trace_httpx() -> None:
    # Called by every builder of an httpx client, before it builds one (sevbridge.common.observability).
    from sevbridge.common.observability import trace_httpx

    trace_httpx()


@functools.cache
def clock() -> SystemClock:
    from sevbridge.common.clock import SystemClock

    return SystemClock()


@functools.cache
def platform_store() -> DynamoPlatformStore:
    from sevbridge.adapters.dynamo_platforms import DynamoPlatformStore

    return DynamoPlatformStore(get_settings().platforms_table)


@functools.cache
def token_vault() -> KmsTokenVault:
    from sevbridge.adapters.kms_vault import KmsTokenVault

    settings = get_settings()
    return KmsTokenVault(settings.token_key_id, cache_seconds=settings.token_cache_seconds)


def sevdesk_client(connection: Connection, token: str, time_left: Callable[[], float] | None = None) -> SevdeskClient:
    """A tenant's sevDesk client as configured for this function (timeouts, retries, backoff; `time_left`:
    no call is started that could not finish in the invocation); every client of a tenant shares the
    process-wide error brake, request gate (requests in flight per tenant) and connection pool."""
    from sevbridge.adapters.sevdesk.client import SevdeskClient
    from sevbridge.adapters.sevdesk.gate import default_gate
    from sevbridge.domain.connections import tenant_key

    _trace_httpx()
    settings = get_settings()
    default_gate.configure(settings.sevdesk_tenant_requests_in_flight, settings.sevdesk_tenant_requests_per_second)
    return SevdeskClient(
        token,
        base_url=settings.sevdesk_base_url,
        tenant_key=tenant_key(connection.platform_id, connection.tenant_id),
        timeout=settings.sevdesk_timeout_seconds,
        max_attempts=settings.sevdesk_max_attempts,
        max_backoff=settings.sevdesk_max_backoff_seconds,
        max_throttle_wait=settings.sevdesk_max_throttle_wait_seconds,
        time_left=time_left,
    )


# --- connections (C1–C5) -----------------------------------------------------------------------------
@functools.cache
def connection_store() -> DynamoConnectionStore:
    from sevbridge.adapters.dynamo_connections import DynamoConnectionStore

    s = get_settings()
    return DynamoConnectionStore(s.tenants_table, outbox_table=s.outbox_table)


@functools.cache
def tenant_eraser() -> TenantEraserWithBackfills:
    """C5: every tenant-scoped table, and the tenant's backfill documents in S3."""
    from sevbridge.adapters.dynamo_connections import SK as CONNECTION_SK
    from sevbridge.adapters.tenant_eraser import TenantEraserWithBackfills

    s = get_settings()
    # The connection first, then the ledger, then the rest (adapters/dynamo_eraser.py says why).
    return TenantEraserWithBackfills(
        [s.ledger_table, s.tenants_table, s.jobs_table, s.changes_table, s.outbox_table],
        jobs_table=s.jobs_table,
        backfill_bucket=s.backfill_bucket,
        first=[(s.tenants_table, CONNECTION_SK)],
    )


@functools.cache
def sevdesk_probe() -> HttpSevdeskProbe:
    from sevbridge.adapters.sevdesk.probe import HttpSevdeskProbe
    from sevbridge.common.deadline import time_left

    _trace_httpx()
    s = get_settings()
    # The token test runs inside an API request: bounded by that invocation's deadline.
    return HttpSevdeskProbe(s.sevdesk_base_url, timeout=s.sevdesk_timeout_seconds, time_left=time_left)


def connection(platform_id: str, tenant_id: str) -> Connection:
    """The tenant's connection (404 when there is none), for the routes that only read it: the store
    alone, not the connection service with its probe, eraser, notifier and import wiring."""
    from sevbridge.domain.connection import require_connection

    return require_connection(connection_store(), platform_id, tenant_id)


@functools.cache
def connection_service() -> ConnectionService:
    from sevbridge.domain.connections import ConnectionService
    from sevbridge.domain.pull.service import ParkedImports, ParkedTransfersAndImports
    from sevbridge.domain.transfer_ops import LedgerParkedWork

    return ConnectionService(
        store=connection_store(),
        vault=token_vault(),
        probe=sevdesk_probe(),
        eraser=tenant_eraser(),
        clock=clock(),
        # A new token resumes parked transfers and parked imports (C3).
        parked=ParkedTransfersAndImports(
            LedgerParkedWork(transfer_ops()), ParkedImports(import_store(), import_queue())
        ),
        notifier=notifier(),
    )


# --- push: events, ledger, transfers (P, I) ----------------------------------------------------------
@functools.cache
def ledger() -> DynamoLedgerStore:
    from sevbridge.adapters.dynamo_ledger import DynamoLedgerStore

    s = get_settings()
    return DynamoLedgerStore(s.ledger_table, outbox_table=s.outbox_table)


@functools.cache
def transfer_queue() -> SqsTransferQueue:
    from sevbridge.adapters.sqs_transfer_queue import SqsTransferQueue

    return SqsTransferQueue(get_settings().transfer_queue_url)


@functools.cache
def intake() -> Intake:
    from sevbridge.domain.intake import Intake

    return Intake(ledger=ledger(), queue=transfer_queue(), clock=clock())


@functools.cache
def transfer_ops() -> TransferOps:
    from sevbridge.domain.transfer_ops import TransferOps

    return TransferOps(ledger=ledger(), queue=transfer_queue(), clock=clock())


@functools.cache
def retry_schedule() -> RetrySchedule:
    from sevbridge.domain.transfer_runner import RetrySchedule

    settings = get_settings()
    return RetrySchedule(max_attempts=settings.transfer_max_attempts, delays=settings.transfer_retry_delays)


def transfer_runner(push_factory: PushServiceFactory) -> TransferRunner:
    from sevbridge.domain.transfer_runner import TransferRunner

    return TransferRunner(
        ledger=ledger(),
        connections=connection_service(),
        vault=token_vault(),
        push_factory=push_factory,
        clock=clock(),
        schedule=retry_schedule(),
        notifier=notifier(),
    )


# --- pull: imports and the change feed (M) -----------------------------------------------------------
@functools.cache
def import_queue() -> SqsImportQueue:
    from sevbridge.adapters.sqs_import_queue import SqsImportQueue

    return SqsImportQueue(get_settings().import_queue_url)


@functools.cache
def import_scheduler() -> ImportScheduler:
    from sevbridge.adapters.dynamo_import_schedule import DynamoImportSchedule
    from sevbridge.domain.pull.scheduling import ImportScheduler

    settings = get_settings()
    return ImportScheduler(
        schedule=DynamoImportSchedule(settings.tenants_table),
        queue=import_queue(),
        clock=clock(),
        time_scale=settings.import_time_scale,
    )


@functools.cache
def import_store() -> DynamoImportStore:
    from sevbridge.adapters.dynamo_imports import DynamoImportStore

    s = get_settings()
    return DynamoImportStore(s.jobs_table, outbox_table=s.outbox_table)


@functools.cache
def change_feed() -> DynamoChangeFeed:
    from sevbridge.adapters.dynamo_changes import DynamoChangeFeed

    return DynamoChangeFeed(get_settings().changes_table)


@functools.cache
def import_service() -> ImportService:
    from sevbridge.domain.pull.service import ImportService

    return ImportService(
        store=import_store(), feed=change_feed(), queue=import_queue(), connections=connection_service(), clock=clock()
    )


@functools.cache
def tenant_overview() -> TenantOverview:
    """Operators' read-only view of a platform's tenants (the CLI)."""
    from sevbridge.domain.tenant_overview import TenantOverview

    return TenantOverview(
        lister=connection_store(), connections=connection_service(), imports=import_service(), transfers=transfer_ops()
    )


def platform_side(platform_id: str, tenant_id: str) -> DynamoPlatformSide:
    from sevbridge.adapters.dynamo_platform_side import DynamoPlatformSide

    return DynamoPlatformSide(get_settings().ledger_table, ledger(), platform_id, tenant_id)


def import_runner(reader_factory: ReaderFactory) -> ImportRunner:
    from sevbridge.domain.pull.runner import ImportRunner

    return ImportRunner(
        store=import_store(),
        feed=change_feed(),
        connections=connection_service(),
        vault=token_vault(),
        reader_factory=reader_factory,
        platform_side_factory=platform_side,
        queue=import_queue(),
        clock=clock(),
        time_scale=get_settings().import_time_scale,
        notifier=notifier(),
    )


# --- backfills (B1–B3, M6) ---------------------------------------------------------------------------
@functools.cache
def backfill_store() -> DynamoBackfillStore:
    from sevbridge.adapters.dynamo_backfills import DynamoBackfillStore

    s = get_settings()
    return DynamoBackfillStore(s.jobs_table, outbox_table=s.outbox_table)


@functools.cache
def backfill_objects() -> S3BackfillObjects:
    from sevbridge.adapters.s3_backfill_objects import S3BackfillObjects

    return S3BackfillObjects(get_settings().backfill_bucket)


@functools.cache
def backfill_queue() -> SqsBackfillQueue:
    from sevbridge.adapters.sqs_backfill_queue import SqsBackfillQueue

    return SqsBackfillQueue(get_settings().backfill_queue_url)


@functools.cache
def applied_versions() -> DynamoAppliedVersions:
    from sevbridge.adapters.dynamo_applied_versions import DynamoAppliedVersions

    return DynamoAppliedVersions(get_settings().ledger_table)


@functools.cache
def backfill_service() -> BackfillService:
    from sevbridge.domain.backfill.service import BackfillService

    return BackfillService(
        store=backfill_store(),
        objects=backfill_objects(),
        queue=backfill_queue(),
        connections=connection_service(),
        clock=clock(),
        imports=import_service(),
        notifier=notifier(),
    )


def backfill_worker(runner_factory: Callable[[Callable[[], float] | None], TransferRunner]) -> BackfillWorker:
    """Chunks go through the live path's intake and transfer runner; their transfers are run in place."""
    from sevbridge.domain.backfill.worker import BackfillWorker, RunInPlace
    from sevbridge.domain.intake import Intake
    from sevbridge.domain.transfer_ops import TransferOps

    s = get_settings()
    return BackfillWorker(
        store=backfill_store(),
        objects=backfill_objects(),
        queue=backfill_queue(),
        connections=connection_store(),
        intake=Intake(ledger=ledger(), queue=RunInPlace(), clock=clock(), live=False),
        transfer_ops=TransferOps(ledger=ledger(), queue=RunInPlace(), clock=clock(), live=False),
        runner_factory=runner_factory,
        versions=applied_versions(),
        clock=clock(),
        imports=import_store(),
        notifier=notifier(),
        chunk_lines=s.backfill_chunk_lines,
        lanes=s.backfill_chunk_lanes,
        seconds_per_document=2 * s.sevdesk_timeout_seconds + 5,
    )


# --- notify: webhooks (C3, M5) -----------------------------------------------------------------------
@functools.cache
def endpoint_store() -> DynamoEndpointStore:
    from sevbridge.adapters.dynamo_endpoints import DynamoEndpointStore

    return DynamoEndpointStore(get_settings().outbox_table, connection_store())


@functools.cache
def endpoint_catalog() -> CachedEndpointCatalog:
    from sevbridge.adapters.dynamo_endpoints import CachedEndpointCatalog

    return CachedEndpointCatalog(endpoint_store())


@functools.cache
def delivery_store() -> DynamoDeliveryStore:
    from sevbridge.adapters.dynamo_outbox import DynamoDeliveryStore

    return DynamoDeliveryStore(get_settings().outbox_table)


@functools.cache
def dispatch_queue() -> SqsDispatchQueue:
    from sevbridge.adapters.sqs_webhook_queue import SqsDispatchQueue

    return SqsDispatchQueue(get_settings().webhook_queue_url)


@functools.cache
def notifier() -> Notifier:
    """What every state change that notifies needs: the cached catalog, the guards, the queue."""
    from sevbridge.adapters.dynamo_outbox import DynamoGuardStore
    from sevbridge.domain.notify.notifier import Notifier

    return Notifier(
        catalog=endpoint_catalog(),
        guards=DynamoGuardStore(get_settings().outbox_table),
        queue=dispatch_queue(),
        clock=clock(),
    )


@functools.cache
def secret_sealer() -> KmsSecretSealer:
    from sevbridge.adapters.kms_secrets import KmsSecretSealer

    return KmsSecretSealer(get_settings().token_key_id)


@functools.cache
def webhook_sender() -> HttpWebhookSender:
    from sevbridge.adapters.webhook_http import HttpWebhookSender

    _trace_httpx()
    s = get_settings()
    return HttpWebhookSender(allow_loopback=s.webhook_allow_loopback, timeout=s.webhook_timeout_seconds)


@functools.cache
def webhook_dispatcher() -> Dispatcher:
    from sevbridge.domain.notify.dispatcher import Dispatcher

    return Dispatcher(
        deliveries=delivery_store(),
        endpoints=endpoint_store(),
        sealer=secret_sealer(),
        sender=webhook_sender(),
        queue=dispatch_queue(),
        notifier=notifier(),
        clock=clock(),
    )


@functools.cache
def webhook_sweeper() -> Sweeper:
    from sevbridge.domain.notify.sweeper import Sweeper

    return Sweeper(deliveries=delivery_store(), queue=dispatch_queue(), clock=clock())


@functools.cache
def webhook_endpoints() -> WebhookEndpoints:
    from sevbridge.domain.notify.admin import WebhookEndpoints
    from sevbridge.domain.notify.urls import UrlPolicy

    return WebhookEndpoints(
        store=endpoint_store(),
        catalog=endpoint_catalog(),
        sealer=secret_sealer(),
        notifier=notifier(),
        deliveries=delivery_store(),
        clock=clock(),
        url_policy=UrlPolicy(allow_loopback=get_settings().webhook_allow_loopback),
    )


@functools.cache
def webhook_deliveries() -> WebhookDeliveries:
    from sevbridge.domain.notify.admin import WebhookDeliveries

    return WebhookDeliveries(store=delivery_store(), endpoints=endpoint_store(), queue=dispatch_queue(), clock=clock())


def reset() -> None:
    from sevbridge.adapters import aws_clients

    for cached in (
        clock,
        platform_store,
        token_vault,
        connection_store,
        tenant_eraser,
        sevdesk_probe,
        connection_service,
        ledger,
        transfer_queue,
        intake,
        transfer_ops,
        retry_schedule,
        import_queue,
        import_scheduler,
        import_store,
        change_feed,
        import_service,
        tenant_overview,
        endpoint_store,
        endpoint_catalog,
        delivery_store,
        dispatch_queue,
        notifier,
        secret_sealer,
        webhook_sender,
        webhook_dispatcher,
        webhook_sweeper,
        webhook_endpoints,
        webhook_deliveries,
        backfill_store,
        backfill_objects,
        backfill_queue,
        applied_versions,
        backfill_service,
    ):
        cached.cache_clear()
    reset_settings()
    aws_clients.reset()
