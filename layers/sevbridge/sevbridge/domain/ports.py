"""Interfaces the domain needs from the outside world. Adapters implement them; tests may use fakes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sevbridge.domain.connection import Connection, SevdeskIdentity
from sevbridge.domain.intake_models import (
    DocumentKey,
    DocumentState,
    EventDraft,
    EventRecord,
    TransferPage,
    TransferQuery,
)
from sevbridge.domain.ledger import Transfer, TransferDocument, TransferStatus
from sevbridge.domain.notify.notices import Notices
from sevbridge.domain.platform import Platform, StoredKey

if TYPE_CHECKING:
    from sevbridge.domain.push.ports import MappingRow  # not loaded on cold starts that never push


class Clock(Protocol):
    def now(self) -> datetime: ...


class PlatformStore(Protocol):
    def save(self, platform: Platform, key_hash: str) -> None: ...
    def find_by_key_hash(self, key_hash: str) -> Platform | None: ...
    def get(self, platform_id: str) -> Platform | None: ...
    def list_keys(self, platform_id: str) -> list[StoredKey]: ...
    def add_key(self, platform: Platform, key: StoredKey) -> None: ...
    def delete_keys(self, keys: list[StoredKey]) -> None: ...
    def list(self) -> list[Platform]: ...  # last: in the class body it shadows the builtin


class ConnectionStore(Protocol):
    def get(self, platform_id: str, tenant_id: str) -> Connection | None: ...
    def save(self, connection: Connection, notices: Notices | None = None) -> Connection:
        """Writes if nobody else wrote since `connection` was read (its `revision`); returns the stored
        version. Raises ConcurrentUpdate otherwise. `notices` are written in the same transaction."""
        ...

    def list_connections(self) -> list[Connection]: ...


class TenantEraser(Protocol):
    def erase(self, platform_id: str, tenant_id: str) -> int:
        """Delete every item the tenant owns in every table; returns how many were deleted."""
        ...


class TokenVault(Protocol):
    """Encrypts tokens with an encryption context that binds them to platform + tenant (C1)."""

    def seal(self, token: str, *, platform_id: str, tenant_id: str) -> bytes: ...
    def open(self, ciphertext: bytes, *, platform_id: str, tenant_id: str) -> str: ...


class SevdeskProbe(Protocol):
    """Checks a token against sevDesk; raises sevbridge.domain.sevdesk_errors on failure (C2)."""

    def identify(self, token: str, *, tenant_key: str) -> SevdeskIdentity: ...


class ParkedWork(Protocol):
    """Work parked while a tenant's token was invalid (C3); resumed when a new token is stored."""

    def resume(self, platform_id: str, tenant_id: str) -> int: ...


class LedgerStore(Protocol):
    def record_events(self, drafts: list[EventDraft]) -> list[EventRecord]:
        """Intake: writes the events' documents' pointers (each carries its event's id and body hash),
        then their new transfers. An event a pointer already names is a redelivery: answered with its first
        delivery's transfer ids, completing what that delivery did not store. Not atomic: a retry of the
        same events completes what a failure left out. Results in input order."""
        ...

    def get(
        self,
        platform_id: str,
        tenant_id: str,
        transfer_id: str,
        *,
        document: DocumentKey | None = None,
        shown: bool = False,
        carried: TransferDocument | None = None,
        with_item: bool = False,
    ) -> Transfer | None:
        """`document`: the transfer's document as its queue message names it (saves a read call). A
        current transfer with no stored document (it travels in its queue message) is None, so nothing
        runs or re-sends an empty payload — unless `shown` (to be shown: state and event, no payload).
        `carried`: the document its queue message carries: only the pointer is read while the transfer is
        current (`with_item`: its item too, so `stored` says whether it has one)."""
        ...

    def mapping_read(self, transfer: Transfer) -> tuple[bool, MappingRow | None]:
        """The push mapping of the transfer's document as the last `get` of it read it with its pointer:
        (True, row or None) once; (False, None) if that read did not happen."""
        ...

    def keep(self, transfer: Transfer) -> Transfer:
        """Stores the transfer's item (its document and state) if it has none and is its document's
        current transfer, so it can be re-sent without its message; returns it as stored. Raises
        TransferGone (the item removed again) when the tenant was offboarded meanwhile."""
        ...

    def save(
        self, transfer: Transfer, notices: Notices | None = None, *, mapping: MappingRow | None = None
    ) -> Transfer:
        """Updates a transfer; `notices` (webhooks about this change) are written in the same transaction.
        Returns the transfer as stored: one that claims a document (`sending`) whose last attempt is
        unsettled — another transfer of it may have reached sevDesk unrecorded — comes back `uncertain`.
        `mapping`: the push's mapping row of the transfer's document, stored with this state (same write
        when it goes to the document's item) — never without it, and never if the document is gone."""
        ...

    def begin_attempt(self, transfer: Transfer, now: datetime) -> Transfer | None:
        """A live attempt's claim without a write (the read `get` just did): raises DocumentBusy while a
        backfill's claim holds the document; returns the transfer `uncertain` when another attempt of
        the document may have reached sevDesk unrecorded; None when no pending live transfer is named
        on the document (nothing holds a backfill back): the caller claims with a `sending` write."""
        ...

    def query(self, platform_id: str, tenant_id: str, query: TransferQuery) -> TransferPage: ...
    def with_status(self, platform_id: str, tenant_id: str, status: TransferStatus) -> list[Transfer]:
        """All the tenant's transfers in a status, oldest first."""
        ...

    def open_transfers(self, platform_id: str, tenant_id: str, *, advance: bool = False) -> list[Transfer]:
        """The tenant's `queued` and `sending` transfers, oldest first, read from its low-water mark of
        open transfers on; `advance` (the schedule tick only) moves the mark up afterwards."""
        ...

    def hold_open(self, platform_id: str, tenant_id: str, transfer_ids: list[str]) -> None:
        """Must precede making settled transfers `queued` again (retry, resume, completing an event):
        keeps them where open_transfers looks, even if the process dies before its state write."""
        ...

    def lookup(self, platform_id: str, tenant_id: str, documents: list[DocumentKey]) -> list[DocumentState | None]:
        """Each document's latest transfer state (None: nothing accepted for it), read by key."""
        ...


class TransferQueue(Protocol):
    def enqueue(self, transfers: list[Transfer]) -> None:
        """Sends one message per transfer, in order, in the tenant's FIFO message group."""
        ...
