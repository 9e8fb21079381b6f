"""Our marker in an invoice's customerInternalNote (domain/push/markers.py) read back: an invoice that
carries it was pushed by sevbridge for this platform and tenant, even if its mapping row is gone."""

from __future__ import annotations

from sevbridge.domain.push.markers import document_marker


def marker_scope(platform_id: str, tenant_id: str) -> str:
    """'sevbridge:<hash of platform + tenant>:' — what every invoice marker of this tenant starts with."""
    return document_marker(platform_id, tenant_id, "invoice", "")


def source_id_from_marker(note: str | None, scope: str) -> str | None:
    """The platform's invoice id in our marker; None for other notes, project drafts and hashed ids."""
    if not note or not note.startswith(scope):
        return None
    rest = note[len(scope) :]
    if not rest or rest.startswith(("#", "project:")):
        return None
    return rest
