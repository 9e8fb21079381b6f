"""The mapping store bound to one tenant."""

from __future__ import annotations

from sevbridge.domain.push.ports import MappingKind, MappingRow, MappingStore


class TenantRows:
    def __init__(self, store: MappingStore, platform_id: str, tenant_id: str) -> None:
        self._store = store
        self._platform_id = platform_id
        self._tenant_id = tenant_id

    def get(self, kind: MappingKind, source_id: str) -> MappingRow | None:
        return self._store.get(self._platform_id, self._tenant_id, kind, source_id)

    def put(self, row: MappingRow) -> None:
        self._store.put(self._platform_id, self._tenant_id, row)

    def marking_setting(self) -> str | None:
        return self._store.marking_setting(self._platform_id, self._tenant_id)

    def record_marking_setting(self, setting_id: str) -> None:
        self._store.record_marking_setting(self._platform_id, self._tenant_id, setting_id)
