"""The sandbox's whole world, in memory: accounts (each a sevDesk client with its own token and
objects), injected faults and the request log. One re-entrant lock guards all of it; handlers
hold it for the duration of a request so every request sees and leaves a consistent state."""

from __future__ import annotations

import collections
import copy
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import reference_data
from .clock import berlin_now, iso
from .errors import not_found
from .faults import Fault
from .request_log import RequestLogEntry
from .templates import blank, complete_references
from .wire import ref, ref_id, wire

# Ids are global per object type, like sevDesk's own, and the ranges differ per type so that a
# client that mixes up ids of different types gets a 404 instead of silently hitting something.
ID_STARTS: dict[str, int] = {
    "SevClient": 410001,
    "SevUser": 520001,
    "CheckAccount": 5001,
    "CheckAccountTransaction": 7100001,
    "InvoiceLog": 3001,
    "ContactCustomFieldSetting": 8001,
    "Contact": 1000001,
    "ContactAddress": 2000001,
    "CommunicationWay": 3000001,
    "ContactCustomField": 4000001,
    "Invoice": 5000001,
    "InvoicePos": 6000001,
    "Part": 7000001,
    "Order": 8000001,
    "OrderPos": 9000001,
}
DEFAULT_ID_START = 100001
FIRST_CUSTOMER_NUMBER = 1000
FIRST_INVOICE_NUMBER = 1000
REQUEST_LOG_LIMIT = 50_000


def _id_key(object_id: str) -> tuple[int, str]:
    return (int(object_id), "") if object_id.isdigit() else (2**63, object_id)


@dataclass
class Account:
    account_id: str  # also the account's SevClient id
    name: str
    token: str
    bookkeeping_system_version: str
    sev_user_id: str = ""
    # objectName -> id -> stored object in sevDesk's wire form
    store: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def table(self, object_name: str) -> dict[str, dict[str, Any]]:
        return self.store.setdefault(object_name, {})


class SandboxState:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or berlin_now
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._tokens: dict[str, str] = {}
        self._next_ids: dict[str, int] = {}
        self._faults: list[Fault] = []
        self._requests: collections.deque[RequestLogEntry] = collections.deque(maxlen=REQUEST_LOG_LIMIT)

    # ----- plumbing ------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def now(self) -> datetime:
        return self._clock()

    def timestamp(self) -> str:
        return iso(self.now())

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()
            self._tokens.clear()
            self._next_ids.clear()
            self._faults.clear()
            self._requests.clear()

    # ----- accounts ------------------------------------------------------------------------
    def create_account(
        self,
        name: str = "Demo GmbH",
        bookkeeping_system_version: str = "2.0",
        token: str | None = None,
    ) -> Account:
        with self._lock:
            account = Account(
                account_id=self.new_id("SevClient"),
                name=name,
                token=token or secrets.token_hex(16),
                bookkeeping_system_version=bookkeeping_system_version,
            )
            if account.token in self._tokens:
                raise ValueError("token already in use")
            self._accounts[account.account_id] = account
            self._tokens[account.token] = account.account_id
            self._install_reference_data(account)
            return account

    def _install_reference_data(self, account: Account) -> None:
        for row in reference_data.system_objects():
            account.table(row["objectName"])[row["id"]] = row
        for row in reference_data.check_accounts():
            self.insert(account, "CheckAccount", row)
        user = self.insert(
            account,
            "SevUser",
            {
                "username": f"admin@{account.account_id}.sandbox.invalid",
                "fullname": "Max Mustermann",
                "firstName": "Max",
                "lastName": "Mustermann",
                "email": f"admin@{account.account_id}.sandbox.invalid",
                "role": "admin",
                "status": "100",
                "languageCode": "de",
                "clientOwner": "1",
            },
        )
        user["sevClient"] = {**ref(account.account_id, "SevClient"), "name": account.name}
        account.sev_user_id = user["id"]

    def account(self, account_id: str) -> Account:
        with self._lock:
            try:
                return self._accounts[str(account_id)]
            except KeyError:
                raise KeyError(f"no sandbox account {account_id!r}") from None

    def accounts(self) -> list[Account]:
        with self._lock:
            return list(self._accounts.values())

    def account_for_token(self, token: str | None) -> Account | None:
        if not token:
            return None
        with self._lock:
            account_id = self._tokens.get(token)
            return self._accounts.get(account_id) if account_id else None

    def rotate_token(self, account_id: str) -> str:
        with self._lock:
            account = self.account(account_id)
            self._tokens.pop(account.token, None)
            account.token = secrets.token_hex(16)
            self._tokens[account.token] = account.account_id
            return account.token

    # ----- objects -------------------------------------------------------------------------
    def objects(self, account_id: str, object_name: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.rows(self.account(account_id), object_name))

    def seed(self, account_id: str, object_name: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Store a raw sevDesk object as given: missing fields come from the type's template, numbers
        and booleans become sevDesk's strings, bare ids in reference fields become {id, objectName}.
        Keeps `id`, `create` and `update` if given (e.g. an old `update` to test updateAfter)."""
        with self._lock:
            account = self.account(account_id)
            fields = complete_references({**blank(object_name), **wire(raw)})
            stored = self.insert(account, object_name, fields)
            return copy.deepcopy(stored)

    def change(
        self, account_id: str, object_name: str, object_id: str, raw: dict[str, Any], *, update: str | None = None
    ) -> dict[str, Any]:
        """Edit a stored object the way a person in sevDesk's web UI would: fields merged in wire form,
        `update` moved to now (or to `update`, e.g. a minute later than a write just made)."""
        with self._lock:
            row = self.get(self.account(account_id), object_name, object_id)
            if row is None:
                raise not_found(object_name, object_id)
            skip = {"id", "objectName", "create", "update", "sevClient"}
            row.update(complete_references({k: v for k, v in wire(raw).items() if k not in skip}))
            row["update"] = update or self.timestamp()
            return copy.deepcopy(row)

    def new_id(self, object_name: str) -> str:
        with self._lock:
            value = self._next_ids.get(object_name, ID_STARTS.get(object_name, DEFAULT_ID_START))
            self._next_ids[object_name] = value + 1
            return str(value)

    def _bump_id(self, object_name: str, object_id: str) -> None:
        if object_id.isdigit():
            start = ID_STARTS.get(object_name, DEFAULT_ID_START)
            current = self._next_ids.get(object_name, start)
            self._next_ids[object_name] = max(current, int(object_id) + 1)

    def insert(self, account: Account, object_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a new object (ids, timestamps and sevClient filled in) and return the live row."""
        with self._lock:
            object_id = ref_id(fields.get("id")) or self.new_id(object_name)
            self._bump_id(object_name, object_id)
            now = self.timestamp()
            row: dict[str, Any] = {
                "id": object_id,
                "objectName": object_name,
                "create": fields.get("create") or now,
                "update": fields.get("update") or now,
            }
            skip = {"id", "objectName", "create", "update"}
            row.update({key: value for key, value in fields.items() if key not in skip})
            row.setdefault("sevClient", ref(account.account_id, "SevClient"))
            account.table(object_name)[object_id] = row
            return row

    def rows(self, account: Account, object_name: str) -> list[dict[str, Any]]:
        """Live rows in id order (callers hold the lock and must not leak them uncopied)."""
        table = account.table(object_name)
        return [table[key] for key in sorted(table, key=_id_key)]

    def get(self, account: Account, object_name: str, object_id: Any) -> dict[str, Any] | None:
        key = ref_id(object_id)
        return account.table(object_name).get(key) if key else None

    def require(self, account: Account, object_name: str, object_id: Any, status: int = 404) -> dict[str, Any]:
        row = self.get(account, object_name, object_id)
        if row is None:
            raise not_found(object_name, object_id, status)
        return row

    def touch(self, row: dict[str, Any]) -> None:
        row["update"] = self.timestamp()

    def delete(self, account: Account, object_name: str, object_id: str) -> None:
        account.table(object_name).pop(object_id, None)

    # ----- faults --------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> str:
        with self._lock:
            self._faults.append(fault)
            return fault.fault_id

    def clear_faults(self, account_id: str | None = None) -> None:
        """Remove every fault, or only those scoped to one account."""
        with self._lock:
            if account_id is None:
                self._faults.clear()
            else:
                self._faults = [fault for fault in self._faults if fault.account_id != account_id]

    def faults(self, account_id: str | None = None) -> list[Fault]:
        with self._lock:
            return [copy.copy(f) for f in self._faults if account_id is None or f.account_id == account_id]

    def take_fault(self, account_id: str | None, method: str, path: str) -> Fault | None:
        """The first matching fault that strikes (see Fault.probability), with one of its hits used up."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(account_id, method, path) and fault.strikes():
                    fault.hits += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return copy.copy(fault)
            return None

    # ----- request log ---------------------------------------------------------------------
    def log_request(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self, account_id: str | None = None) -> list[RequestLogEntry]:
        with self._lock:
            return [entry for entry in self._requests if account_id is None or entry.account_id == account_id]
