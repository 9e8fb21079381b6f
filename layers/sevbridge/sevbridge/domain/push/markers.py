"""Our fingerprints inside sevDesk, so documents are found again without our own records (I8, P1).

Invoices have no custom fields; `customerInternalNote` ("Referenz/Bestellnummer", filterable) carries
the marker. It must be unique per platform + tenant + document: two platforms (or two tenants) may
share one sevDesk account, so a short hash of platform + tenant is part of it. sevDesk keeps at most
100 characters there; long source ids are hashed instead of cut (a cut could collide).
Contacts carry "<platform_id>:<source_id>" in a contact custom field.
"""

from __future__ import annotations

import hashlib

MAX_MARKER = 100
CUSTOM_FIELD_NAME = "sevbridge_source_id"
CUSTOM_FIELD_DESCRIPTION = (
    "Set by sevbridge: <platform>:<id> of the platform contact this sevDesk contact is linked to. Please do not edit."
)


def _short(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def document_marker(platform_id: str, tenant_id: str, kind: str, source_id: str) -> str:
    """'sevbridge:3fa2c1d0:inv-42' (invoices) or 'sevbridge:3fa2c1d0:project:p-7' (project drafts)."""
    scope = _short(f"{platform_id}\x00{tenant_id}", 8)
    prefix = f"sevbridge:{scope}:" + ("" if kind == "invoice" else f"{kind}:")
    marker = prefix + source_id
    if len(marker) <= MAX_MARKER:
        return marker
    return prefix + "#" + _short(source_id, 40)


def contact_marker(platform_id: str, source_id: str) -> str:
    return f"{platform_id}:{source_id}"
