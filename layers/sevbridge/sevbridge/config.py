"""Typed runtime configuration, read from the environment once and cached.

Every resource name comes from template.yaml (Globals.Function.Environment); the local stack sets
the same variables. A missing variable fails loudly on first use, naming the variable.
"""

from __future__ import annotations

import functools
import os

from pydantic import Field, ValidationError, field_validator

from sevbridge.common.model import Model

DEFAULT_SEVDESK_BASE_URL = "https://my.sevdesk.de/api/v1"


class ConfigError(RuntimeError):
    """The function's environment is incomplete or malformed."""


class Settings(Model):
    platforms_table: str = Field(alias="PLATFORMS_TABLE")
    tenants_table: str = Field(alias="TENANTS_TABLE")
    ledger_table: str = Field(alias="LEDGER_TABLE")
    jobs_table: str = Field(alias="JOBS_TABLE")
    changes_table: str = Field(alias="CHANGES_TABLE")
    outbox_table: str = Field(alias="OUTBOX_TABLE")
    token_key_id: str = Field(alias="TOKEN_KEY_ID")
    transfer_queue_url: str = Field(alias="TRANSFER_QUEUE_URL")
    import_queue_url: str = Field(alias="IMPORT_QUEUE_URL")
    backfill_queue_url: str = Field(alias="BACKFILL_QUEUE_URL")
    webhook_queue_url: str = Field(alias="WEBHOOK_QUEUE_URL")
    backfill_bucket: str = Field(alias="BACKFILL_BUCKET")
    sevdesk_base_url: str = Field(default=DEFAULT_SEVDESK_BASE_URL, alias="SEVDESK_BASE_URL")
    # Seconds; short enough that a hung sevDesk call never eats a Lambda invocation.
    sevdesk_timeout_seconds: float = Field(default=20.0, alias="SEVDESK_TIMEOUT_SECONDS", gt=0)
    sevdesk_max_attempts: int = Field(default=4, alias="SEVDESK_MAX_ATTEMPTS", ge=1, le=10)
    # Upper bound for one retry wait (Retry-After included): beyond it the message is retried by SQS.
    sevdesk_max_backoff_seconds: float = Field(default=20.0, alias="SEVDESK_MAX_BACKOFF_SECONDS", ge=0)
    # The longest a 429 is waited for inside an invocation; a longer Retry-After pauses the tenant's
    # work in its queue instead, so one throttled tenant does not hold up the others.
    sevdesk_max_throttle_wait_seconds: float = Field(default=1.0, alias="SEVDESK_MAX_THROTTLE_WAIT_SECONDS", ge=0)
    # The per-tenant request gate (adapters/sevdesk/gate.py, docs/architecture.md): sevDesk sees a serial
    # stream, or — while a further request is on the wire, up to IN_FLIGHT at once — at most PER_SECOND
    # request starts in any second. IN_FLIGHT 1 is a plain serial stream.
    sevdesk_tenant_requests_in_flight: int = Field(default=2, alias="SEVDESK_TENANT_REQUESTS_IN_FLIGHT", ge=1, le=10)
    sevdesk_tenant_requests_per_second: int = Field(
        default=10, alias="SEVDESK_TENANT_REQUESTS_PER_SECOND", ge=1, le=100
    )
    # Lanes of one tenant's batch the transfer worker runs side by side (domain/lanes.py); 1 = serial.
    transfer_lanes_per_tenant: int = Field(default=3, alias="TRANSFER_LANES_PER_TENANT", ge=1, le=10)
    # Real attempts per transfer (pauses don't count) and the waits after failed ones, in seconds.
    transfer_max_attempts: int = Field(default=8, alias="TRANSFER_MAX_ATTEMPTS", ge=1, le=50)
    transfer_retry_delays: tuple[float, ...] = Field(
        default=(10.0, 30.0, 120.0, 300.0, 900.0), alias="TRANSFER_RETRY_DELAYS", min_length=1
    )
    token_cache_seconds: float = Field(default=300.0, alias="TOKEN_CACHE_SECONDS", ge=0)
    max_body_bytes: int = Field(default=1_048_576, alias="MAX_BODY_BYTES", gt=0)
    # Webhooks: connect ≤ 3 s, read/write this long. Loopback/http only where explicitly allowed (the
    # local stack sets it); deployed, webhooks go to public https URLs only.
    webhook_timeout_seconds: float = Field(default=5.0, alias="WEBHOOK_TIMEOUT_SECONDS", gt=0, le=10)
    webhook_allow_loopback: bool = Field(default=False, alias="WEBHOOK_ALLOW_LOOPBACK")
    # < 1 shortens tenants' import intervals and reconciliation periods alike; the local stack sets it
    # from SEVBRIDGE_SCHEDULE_SECONDS so a demo imports every few seconds. Never set on AWS.
    import_time_scale: float = Field(default=1.0, alias="IMPORT_TIME_SCALE", gt=0, le=1)
    # Documents per backfill chunk message: small enough that a chunk finishes well inside one invocation.
    backfill_chunk_lines: int = Field(default=50, alias="BACKFILL_CHUNK_LINES", ge=1, le=500)
    # Documents of one chunk transferred side by side (1: one after the other). Each lane is one serial
    # stream of sevDesk requests; documents sharing a customer stay in one lane.
    backfill_chunk_lanes: int = Field(default=2, alias="BACKFILL_CHUNK_LANES", ge=1, le=4)

    model_config = {"populate_by_name": True, "frozen": True}

    @field_validator("transfer_retry_delays", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """ "10,30,120" in the environment; each 0–900 s (SQS holds a message back at most that long here)."""
        if isinstance(value, str):
            try:
                value = tuple(float(part) for part in value.split(",") if part.strip())
            except ValueError:
                raise ValueError("a comma-separated list of seconds, e.g. 10,30,120,300,900") from None
        if isinstance(value, tuple) and not all(0 <= delay <= 900 for delay in value):
            raise ValueError("every delay must be between 0 and 900 seconds")
        return value


@functools.cache
def get_settings() -> Settings:
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as exc:
        problems = "; ".join(
            f"{err['loc'][0]}: {err['msg']}" for err in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"invalid sevbridge environment: {problems}") from None


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
