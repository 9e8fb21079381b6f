"""Connection use cases: store/rotate a token (C1, C4), read, test (C2), flag on 401 (C3), offboard (C5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sevbridge.domain.connection import (
    Connection,
    ConnectionStatus,
    SevdeskIdentity,
    fingerprint,
    require_connection,
)
from sevbridge.domain.errors import (
    ConcurrentUpdate,
    ConnectionRejected,
    InvalidInput,
    RateLimited,
    UpstreamUnavailable,
)
from sevbridge.domain.notify.notices import NO_NOTICES, Notices
from sevbridge.domain.notify.notifier import Notifier
from sevbridge.domain.ports import (
    Clock,
    ConnectionStore,
    ParkedWork,
    SevdeskProbe,
    TenantEraser,
    TokenVault,
)
from sevbridge.domain.settings import TenantSettings
from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskBrakeEngaged,
    SevdeskError,
    SevdeskRateLimited,
    TokenTestsExhausted,
)

SUPPORTED_BOOKKEEPING_VERSIONS = frozenset({"2.0"})
MAX_WRITE_ATTEMPTS = 3
# When sevDesk fails without saying when to come back: a hint for the caller, not a promise.
UPSTREAM_RETRY_AFTER_SECONDS = 30.0

Reason = Literal[
    "invalid_token",
    "no_api_access",
    "unsupported_bookkeeping_version",
    "sevdesk_unavailable",
    "sevdesk_error",
    "too_many_rejected_tokens",
]


@dataclass(frozen=True)
class ProbeOutcome:
    """Result of testing a token: either an identity, or a precise reason and a human message.
    `retry_after` (seconds) is set when the same test can be expected to get further later."""

    identity: SevdeskIdentity | None
    reason: Reason | None = None
    message: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.identity is not None


def tenant_key(platform_id: str, tenant_id: str) -> str:
    """The one key that identifies a tenant across stores, logs and the sevDesk error brake."""
    return f"{platform_id}#{tenant_id}"


def probe_token(probe: SevdeskProbe, token: str, key: str) -> ProbeOutcome:
    """Asks sevDesk who this token is and turns every failure into a reason a person can act on."""
    try:
        identity = probe.identify(token, tenant_key=key)
    except SevdeskAuthError as exc:
        if exc.status == 403:
            return ProbeOutcome(
                None,
                "no_api_access",
                "sevDesk accepted the token but refused API access (HTTP 403). API access may need "
                "a sevDesk plan that includes it, or an administrator user's token.",
            )
        return ProbeOutcome(
            None,
            "invalid_token",
            "sevDesk rejected the token (HTTP 401 'Authentication required'). It may have been "
            "regenerated: sevDesk issues a new token when the user is saved. Copy the current token "
            "from sevDesk (Settings → Users → API token) and store it again.",
        )
    except TokenTestsExhausted as exc:
        return ProbeOutcome(None, "too_many_rejected_tokens", exc.message, exc.retry_after)
    except SevdeskBrakeEngaged as exc:
        return ProbeOutcome(
            None,
            "sevdesk_unavailable",
            f"calls to sevDesk for this tenant are paused for {exc.resume_in:.0f} s after repeated "
            "sevDesk errors, to protect the token from being blocked",
            exc.resume_in,
        )
    except SevdeskError as exc:
        if exc.retryable:
            hint = exc.retry_after if isinstance(exc, SevdeskRateLimited) else None
            return ProbeOutcome(
                None,
                "sevdesk_unavailable",
                f"sevDesk is not reachable right now: {exc}",
                hint or UPSTREAM_RETRY_AFTER_SECONDS,
            )
        return ProbeOutcome(None, "sevdesk_error", f"sevDesk answered with an error: {exc}")
    if identity.bookkeeping_system_version not in SUPPORTED_BOOKKEEPING_VERSIONS:
        return ProbeOutcome(
            None,
            "unsupported_bookkeeping_version",
            f"this sevDesk account uses bookkeeping system version "
            f"{identity.bookkeeping_system_version}; sevbridge supports version 2.0 (sevDesk Update 2.0)",
        )
    return ProbeOutcome(identity)


@dataclass
class ConnectionService:
    store: ConnectionStore
    vault: TokenVault
    probe: SevdeskProbe
    eraser: TenantEraser
    clock: Clock
    parked: ParkedWork | None = None
    notifier: Notifier | None = None  # connection.reconnect_required / .restored, written with the status

    def get(self, platform_id: str, tenant_id: str) -> Connection:
        return require_connection(self.store, platform_id, tenant_id)

    def put(
        self,
        platform_id: str,
        tenant_id: str,
        *,
        token: str | None,
        settings_patch: dict[str, Any] | None,
    ) -> tuple[Connection, bool, int]:
        """Creates or updates a connection. Returns (connection, created, resumed parked transfers).

        The token is tested against sevDesk before anything is stored; settings are merged over the
        current ones (or the defaults), so a token rotation need not repeat them.
        """
        identity = None
        if token is not None:
            outcome = probe_token(self.probe, token, tenant_key(platform_id, tenant_id))
            if not outcome.ok:
                _raise_if_paused(outcome, "nothing was stored")
                if outcome.reason == "sevdesk_unavailable":
                    raise UpstreamUnavailable(
                        f"{outcome.message}; nothing was stored, try again later",
                        details=[{"reason": outcome.reason}],
                        retry_after=outcome.retry_after,
                    )
                raise ConnectionRejected(
                    outcome.message or "sevDesk rejected the token",
                    details=[{"field": "sevdesk_token", "reason": outcome.reason}],
                )
            identity = outcome.identity
            ciphertext = self.vault.seal(token, platform_id=platform_id, tenant_id=tenant_id)

        for _ in range(MAX_WRITE_ATTEMPTS):
            existing = self.store.get(platform_id, tenant_id)
            if existing is None and token is None:
                raise InvalidInput(
                    "sevdesk_token is required to create a connection",
                    details=[{"field": "sevdesk_token", "problem": "required for a new connection"}],
                )
            settings = _merge_settings(existing.settings if existing else TenantSettings(), settings_patch)
            now = self.clock.now()
            if token is None:
                assert existing is not None
                candidate = existing.model_copy(update={"settings": settings, "updated_at": now})
            else:
                candidate = Connection(
                    platform_id=platform_id,
                    tenant_id=tenant_id,
                    token_ciphertext=ciphertext,
                    token_fingerprint=fingerprint(token),
                    token_version=(existing.token_version + 1) if existing else 1,
                    revision=existing.revision if existing else 0,
                    status=ConnectionStatus.CONNECTED,
                    settings=settings,
                    identity=identity,
                    created_at=existing.created_at if existing else now,
                    updated_at=now,
                    last_checked_at=now,
                    last_error=None,
                    last_sync_at=existing.last_sync_at if existing else None,
                    reconnect_required_since=None,
                )
            try:
                stored = self._save(existing, candidate)
            except ConcurrentUpdate:
                continue  # a worker flagged it or another request wrote meanwhile: re-read, re-apply
            break
        else:
            raise ConcurrentUpdate(f"the connection of tenant '{tenant_id}' is changing right now; try again")
        # C3: with a working token stored, parked work goes on, in order. Always asked (not only when
        # this request saw `reconnect_required`): a worker may have parked work while we were probing.
        resumed = self._resume(stored)
        return stored, existing is None, resumed

    def test(self, platform_id: str, tenant_id: str) -> tuple[Connection, ProbeOutcome]:
        """C2: checks the stored token and records the result; a 401 flags the connection (C3)."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            connection = self.get(platform_id, tenant_id)
            token = self.vault.open(connection.token_ciphertext, platform_id=platform_id, tenant_id=tenant_id)
            outcome = probe_token(self.probe, token, tenant_key(platform_id, tenant_id))
            _raise_if_paused(outcome, "the connection is unchanged")  # sevDesk was not asked: nothing to record
            now = self.clock.now()
            if outcome.ok:
                updated = connection.model_copy(
                    update={
                        "identity": outcome.identity,
                        "last_checked_at": now,
                        "last_error": None,
                        "status": ConnectionStatus.CONNECTED,
                        "reconnect_required_since": None,
                    }
                )
            elif outcome.reason == "invalid_token":
                updated = flag_reconnect_required(connection, outcome.message or "invalid token", now)
            else:
                updated = connection.model_copy(update={"last_checked_at": now, "last_error": outcome.message})
            try:
                # Conditional on the revision read: a token stored meanwhile is never overwritten.
                stored = self._save(connection, updated)
            except ConcurrentUpdate:
                continue  # test again, with whatever token is stored now
            if outcome.ok:
                self._resume(stored)
            return stored, outcome
        raise ConcurrentUpdate(f"the connection of tenant '{tenant_id}' is changing right now; try again")

    def mark_reconnect_required(self, platform_id: str, tenant_id: str, reason: str, *, token_version: int) -> bool:
        """Called by workers on a sevDesk 401 with the token version they used. Flags the connection
        only if that token is still the stored one; returns True only the first time (notify once)."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            connection = self.store.get(platform_id, tenant_id)
            if (
                connection is None
                or connection.token_version != token_version
                or connection.status is ConnectionStatus.RECONNECT_REQUIRED
            ):
                return False
            try:
                # The revision-conditional write lets exactly one of many concurrent 401s flip the status,
                # and the one notice (C3 "notify once") is part of that write.
                self._save(connection, flag_reconnect_required(connection, reason, self.clock.now()))
            except ConcurrentUpdate:
                continue
            return True
        return False

    def _save(self, before: Connection | None, after: Connection) -> Connection:
        notices: Notices = self.notifier.for_connection(before, after) if self.notifier else NO_NOTICES
        if not (self.notifier and notices):
            return self.store.save(after)
        stored = self.store.save(after, notices)
        self.notifier.dispatch_soon(notices)
        return stored

    def resume_if_connected(self, platform_id: str, tenant_id: str) -> int:
        """For workers that just parked work: if a new token arrived meanwhile, don't wait for the next."""
        connection = self.store.get(platform_id, tenant_id)
        return 0 if connection is None else self._resume(connection)

    def _resume(self, connection: Connection) -> int:
        if self.parked is None or connection.status is not ConnectionStatus.CONNECTED:
            return 0
        return self.parked.resume(connection.platform_id, connection.tenant_id)

    def offboard(self, platform_id: str, tenant_id: str) -> int:
        """C5: deletes the token and every item the tenant owns. Returns the number of items deleted."""
        self.get(platform_id, tenant_id)
        return self.eraser.erase(platform_id, tenant_id)


def _raise_if_paused(outcome: ProbeOutcome, consequence: str) -> None:
    if outcome.reason == "too_many_rejected_tokens":
        raise RateLimited(
            f"{outcome.message}; {consequence}",
            details=[{"field": "sevdesk_token", "reason": outcome.reason}],
            retry_after=outcome.retry_after,
        )


def flag_reconnect_required(connection: Connection, reason: str, now: Any) -> Connection:
    return connection.model_copy(
        update={
            "status": ConnectionStatus.RECONNECT_REQUIRED,
            "last_error": reason,
            "last_checked_at": now,
            "reconnect_required_since": connection.reconnect_required_since or now,
            "updated_at": now,
        }
    )


def _merge_settings(base: TenantSettings, patch: dict[str, Any] | None) -> TenantSettings:
    if not patch:
        return base
    merged = base.model_dump(mode="json") | patch
    return TenantSettings.model_validate(merged)
