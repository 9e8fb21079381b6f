"""Composition root: builds the adapters from the typed config, lazily and once per execution
environment. `reset()` forgets everything (tests and the local stack change the environment)."""

from __future__ import annotations

import functools

from sevbridge.adapters import aws_clients
from sevbridge.adapters.dynamo_changes import DynamoChangeFeed
from sevbridge.adapters.dynamo_connections import DynamoConnectionStore
from sevbridge.adapters.dynamo_eraser import DynamoTenantEraser
from sevbridge.adapters.dynamo_import_schedule import DynamoImportSchedule
from sevbridge.adapters.dynamo_imports import DynamoImportStore
from sevbridge.adapters.dynamo_ledger import DynamoLedgerStore
from sevbridge.adapters.dynamo_platform_side import DynamoPlatformSide
from sevbridge.adapters.dynamo_platforms import DynamoPlatformStore
from sevbridge.adapters.kms_vault import KmsTokenVault
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.probe import HttpSevdeskProbe
from sevbridge.adapters.sqs_import_queue import SqsImportQueue
from sevbridge.adapters.sqs_transfer_queue import SqsTransferQueue
from sevbridge.common.clock import SystemClock
from sevbridge.config import get_settings, reset_settings
from sevbridge.domain.connection import Connection
from sevbridge.domain.connections import ConnectionService, tenant_key
from sevbridge.domain.intake import Intake
from sevbridge.domain.pull.runner import ImportRunner, ReaderFactory
from sevbridge.domain.pull.scheduling import ImportScheduler
from sevbridge.domain.pull.service import ImportService, ParkedImports, ParkedTransfersAndImports
from sevbridge.domain.transfer_ops import LedgerParkedWork, TransferOps
from sevbridge.domain.transfer_runner import PushServiceFactory, TransferRunner


@functools.cache
def clock() -> SystemClock:
    return SystemClock()


@functools.cache
def platform_store() -> DynamoPlatformStore:
    return DynamoPlatformStore(get_settings().platforms_table)


@functools.cache
def connection_store() -> DynamoConnectionStore:
    return DynamoConnectionStore(get_settings().tenants_table)


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
    )


@functools.cache
def ledger() -> DynamoLedgerStore:
    return DynamoLedgerStore(get_settings().ledger_table)


@functools.cache
def transfer_queue() -> SqsTransferQueue:
    return SqsTransferQueue(get_settings().transfer_queue_url)


@functools.cache
def intake() -> Intake:
    return Intake(ledger=ledger(), queue=transfer_queue(), clock=clock())


@functools.cache
def transfer_ops() -> TransferOps:
    return TransferOps(ledger=ledger(), queue=transfer_queue(), clock=clock())


def transfer_runner(push_factory: PushServiceFactory) -> TransferRunner:
    return TransferRunner(
        ledger=ledger(),
        connections=connection_service(),
        vault=token_vault(),
        push_factory=push_factory,
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
def import_store() -> DynamoImportStore:
    return DynamoImportStore(get_settings().jobs_table)


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
        import_queue,
        import_scheduler,
        import_store,
        change_feed,
        import_service,
    ):
        cached.cache_clear()
    reset_settings()
    aws_clients.reset()
