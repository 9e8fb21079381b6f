"""Composition root: builds the adapters from the typed config, lazily and once per execution
environment. `reset()` forgets everything (tests and the local stack change the environment)."""

from __future__ import annotations

import functools

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_changes import DynamoChangeFeed
from sevbridge.adapters.dynamo_connections import DynamoConnectionStore
from sevbridge.adapters.dynamo_endpoints import CachedEndpointCatalog, DynamoEndpointStore
from sevbridge.adapters.dynamo_eraser import DynamoTenantEraser
from sevbridge.adapters.dynamo_import_schedule import DynamoImportSchedule
from sevbridge.adapters.dynamo_imports import DynamoImportStore
from sevbridge.adapters.dynamo_ledger import DynamoLedgerStore
from sevbridge.adapters.dynamo_outbox import DynamoDeliveryStore, DynamoGuardStore
from sevbridge.adapters.dynamo_platform_side import DynamoPlatformSide
from sevbridge.adapters.dynamo_platforms import DynamoPlatformStore
from sevbridge.adapters.kms_secrets import KmsSecretSealer
from sevbridge.adapters.kms_vault import KmsTokenVault
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.probe import HttpSevdeskProbe
from sevbridge.adapters.sqs_import_queue import SqsImportQueue
from sevbridge.adapters.sqs_transfer_queue import SqsTransferQueue
from sevbridge.adapters.sqs_webhook_queue import SqsDispatchQueue
from sevbridge.adapters.webhook_http import HttpWebhookSender
from sevbridge.common.clock import SystemClock
from sevbridge.config import get_settings, reset_settings
from sevbridge.domain.connection import Connection
from sevbridge.domain.connections import ConnectionService, tenant_key
from sevbridge.domain.intake import Intake
from sevbridge.domain.notify.admin import WebhookDeliveries, WebhookEndpoints
from sevbridge.domain.notify.dispatcher import Dispatcher
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.notify.sweeper import Sweeper
from sevbridge.domain.notify.urls import UrlPolicy
from sevbridge.domain.pull.runner import ImportRunner, ReaderFactory
from sevbridge.domain.pull.scheduling import ImportScheduler
from sevbridge.domain.pull.service import ImportService, ParkedImports, ParkedTransfersAndImports
from sevbridge.domain.transfer_ops import LedgerParkedWork, TransferOps
from sevbridge.domain.transfer_runner import PushServiceFactory, RetrySchedule, TransferRunner


@functools.cache
def clock() -> SystemClock:
    return SystemClock()


@functools.cache
def platform_store() -> DynamoPlatformStore:
    return DynamoPlatformStore(get_settings().platforms_table)


@functools.cache
def connection_store() -> DynamoConnectionStore:
    s = get_settings()
    return DynamoConnectionStore(s.tenants_table, outbox_table=s.outbox_table)


@functools.cache
def token_vault() -> KmsTokenVault:
    settings = get_settings()
    return KmsTokenVault(settings.token_key_id, cache_seconds=settings.token_cache_seconds)


@functools.cache
def tenant_eraser() -> DynamoTenantEraser:
    s = get_settings()
    return DynamoTenantEraser([s.tenants_table, s.ledger_table, s.jobs_table, s.changes_table, s.outbox_table])


@functools.cache
def sevdesk_probe() -> HttpSevdeskProbe:
    s = get_settings()
    return HttpSevdeskProbe(s.sevdesk_base_url, timeout=s.sevdesk_timeout_seconds)


@functools.cache
def connection_service() -> ConnectionService:
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


@functools.cache
def ledger() -> DynamoLedgerStore:
    s = get_settings()
    return DynamoLedgerStore(s.ledger_table, outbox_table=s.outbox_table)


@functools.cache
def transfer_queue() -> SqsTransferQueue:
    return SqsTransferQueue(get_settings().transfer_queue_url)


@functools.cache
def intake() -> Intake:
    return Intake(ledger=ledger(), queue=transfer_queue(), clock=clock())


@functools.cache
def transfer_ops() -> TransferOps:
    return TransferOps(ledger=ledger(), queue=transfer_queue(), clock=clock())


@functools.cache
def retry_schedule() -> RetrySchedule:
    settings = get_settings()
    return RetrySchedule(max_attempts=settings.transfer_max_attempts, delays=settings.transfer_retry_delays)


def transfer_runner(push_factory: PushServiceFactory) -> TransferRunner:
    return TransferRunner(
        ledger=ledger(),
        connections=connection_service(),
        vault=token_vault(),
        push_factory=push_factory,
        clock=clock(),
        schedule=retry_schedule(),
        notifier=notifier(),
    )


# --- notify: webhooks -------------------------------------------------------------------------------
@functools.cache
def endpoint_store() -> DynamoEndpointStore:
    return DynamoEndpointStore(get_settings().outbox_table, connection_store())


@functools.cache
def endpoint_catalog() -> CachedEndpointCatalog:
    return CachedEndpointCatalog(endpoint_store())


@functools.cache
def delivery_store() -> DynamoDeliveryStore:
    return DynamoDeliveryStore(get_settings().outbox_table)


@functools.cache
def dispatch_queue() -> SqsDispatchQueue:
    return SqsDispatchQueue(get_settings().webhook_queue_url)


@functools.cache
def notifier() -> Notifier:
    """What every state change that notifies needs: the cached catalog, the guards, the queue."""
    return Notifier(
        catalog=endpoint_catalog(),
        guards=DynamoGuardStore(get_settings().outbox_table),
        queue=dispatch_queue(),
        clock=clock(),
    )


def sevdesk_client(connection: Connection, token: str) -> SevdeskClient:
    """A tenant's sevDesk client as configured for this function (timeouts, retries, backoff); every
    client of a tenant shares the process-wide error brake and connection pool."""
    settings = get_settings()
    return SevdeskClient(
        token,
        base_url=settings.sevdesk_base_url,
        tenant_key=tenant_key(connection.platform_id, connection.tenant_id),
        timeout=settings.sevdesk_timeout_seconds,
        max_attempts=settings.sevdesk_max_attempts,
        max_backoff=settings.sevdesk_max_backoff_seconds,
    )


# --- imports (pull) ---------------------------------------------------------------------------


@functools.cache
def import_queue() -> SqsImportQueue:
    return SqsImportQueue(get_settings().import_queue_url)


@functools.cache
def import_scheduler() -> ImportScheduler:
    settings = get_settings()
    return ImportScheduler(
        schedule=DynamoImportSchedule(settings.tenants_table),
        queue=import_queue(),
        clock=clock(),
        time_scale=settings.import_time_scale,
    )


@functools.cache
def secret_sealer() -> KmsSecretSealer:
    return KmsSecretSealer(get_settings().token_key_id)


@functools.cache
def webhook_sender() -> HttpWebhookSender:
    s = get_settings()
    return HttpWebhookSender(allow_loopback=s.webhook_allow_loopback, timeout=s.webhook_timeout_seconds)


@functools.cache
def webhook_dispatcher() -> Dispatcher:
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
    return Sweeper(deliveries=delivery_store(), queue=dispatch_queue(), clock=clock())


@functools.cache
def webhook_endpoints() -> WebhookEndpoints:
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
    return WebhookDeliveries(store=delivery_store(), endpoints=endpoint_store(), queue=dispatch_queue(), clock=clock())


@functools.cache
def import_store() -> DynamoImportStore:
    s = get_settings()
    return DynamoImportStore(s.jobs_table, outbox_table=s.outbox_table)


@functools.cache
def change_feed() -> DynamoChangeFeed:
    return DynamoChangeFeed(get_settings().changes_table)


@functools.cache
def import_service() -> ImportService:
    return ImportService(
        store=import_store(), feed=change_feed(), queue=import_queue(), connections=connection_service(), clock=clock()
    )


def platform_side(platform_id: str, tenant_id: str) -> DynamoPlatformSide:
    return DynamoPlatformSide(get_settings().tenants_table, ledger(), platform_id, tenant_id)


def import_runner(reader_factory: ReaderFactory) -> ImportRunner:
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


def reset() -> None:
    for cached in (
        clock,
        platform_store,
        connection_store,
        token_vault,
        tenant_eraser,
        sevdesk_probe,
        connection_service,
        ledger,
        transfer_queue,
        intake,
        transfer_ops,
        retry_schedule,
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
        import_queue,
        import_scheduler,
        import_store,
        change_feed,
        import_service,
    ):
        cached.cache_clear()
    reset_settings()
    aws_clients.reset()
