"""The mapping store bound to one tenant, and (for the transfer worker) holding back the row of the
document being pushed.

A transfer's own document's row is written by the ledger together with the transfer's outcome (one
write: docs/ledger.md), so while `defer_own` is on, a put of that row is only held here (`held()`; a
get answers it) and the runner hands it to the outcome write. sevDesk is then only ever ahead of the
row, as when it was written at the end of the push: an attempt whose outcome was not written is
uncertain in the ledger and reconciles. Rows that must be stored before a sevDesk write (`at_once`:
the customer number before a contact create, the link before a contact is marked) and rows of other
documents (the customer of an invoice) are written at once.

The own document's row may also be handed in as already read (`know_own`): the transfer worker's
consistent read of the document's pointer item, which is the live attempt's claim, carries it, so the
push does not read the same item again (docs/ledger.md, "Reads and AWS calls per document").
"""

from __future__ import annotations

from sevbridge.domain.push.ports import MappingKind, MappingRow, MappingStore


class TenantRows:
    def __init__(self, store: MappingStore, platform_id: str, tenant_id: str, *, defer_own: bool = False) -> None:
        self._store = store
        self._platform_id = platform_id
        self._tenant_id = tenant_id
        self._defer_own = defer_own
        self._own: tuple[str, str] | None = None
        self._held: MappingRow | None = None
        self._known: tuple[str, str, MappingRow | None] | None = None  # the own row as read by the caller
        self._written: dict[tuple[str, str], MappingRow] = {}  # stored at once, the last row per document
        self._marked: str | None = None  # the marking setting this push recorded

    def own(self, kind: MappingKind, source_id: str) -> None:
        """The document the current push is about (one push per service: PushService)."""
        self._own, self._held = (kind, source_id), None

    def know_own(self, kind: MappingKind, source_id: str, row: MappingRow | None) -> None:
        """The own document's row as the caller read it (consistently, under its claim), for the push
        that follows: its first get of that row needs no read."""
        self._known = (kind, source_id, row)

    def held(self) -> MappingRow | None:
        """The own document's row as the push left it, not written yet (None: nothing to write)."""
        return self._held

    def _deferred(self, kind: str, source_id: str) -> bool:
        return self._defer_own and self._own == (kind, source_id)

    def get(self, kind: MappingKind, source_id: str) -> MappingRow | None:
        if self._held is not None and self._deferred(kind, source_id):
            return self._held
        if self._known is not None and self._known[:2] == (kind, source_id):
            return self._known[2]
        return self._store.get(self._platform_id, self._tenant_id, kind, source_id)

    def put(self, row: MappingRow, *, at_once: bool = False) -> None:
        if self._known is not None and self._known[:2] == (row.kind, row.source_id):
            self._known = None  # what was read is out of date now
        if self._deferred(row.kind, row.source_id):
            if not at_once:
                self._held = row
                return
            self._held = None  # stored now; a later put holds the newer row again
        self._store.put(self._platform_id, self._tenant_id, row)
        self._written[(row.kind, row.source_id)] = row

    def forget_written(self) -> None:
        """The tenant was offboarded while the push ran (C5): the rows it stored at once must not outlive
        the erase. Each goes only if it is still exactly what this push wrote and no transfer's state sits
        on its item (MappingStore.forget)."""
        for row in self._written.values():
            self._store.forget(self._platform_id, self._tenant_id, row)
        self._written = {}
        if self._marked is not None:
            # The proof outliving the erase would wrongly let a new connection skip the marker search.
            self._store.forget_marking_setting(self._platform_id, self._tenant_id, self._marked)
            self._marked = None

    def marking_setting(self) -> str | None:
        return self._store.marking_setting(self._platform_id, self._tenant_id)

    def record_marking_setting(self, setting_id: str) -> None:
        self._store.record_marking_setting(self._platform_id, self._tenant_id, setting_id)
        self._marked = setting_id
