"""The push domain: platform contacts, invoices and project drafts into a tenant's sevDesk account.

Pure domain code: no boto3, no httpx. sevDesk and the mapping table come in through ports.py.

The names below load on first access: the api imports `push.projects` and `push.selection` to check
events, and must not pay for the whole push engine on its cold start (issue 10 §4).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sevbridge.domain.push.outcome import PushOutcome, PushRefused
    from sevbridge.domain.push.ports import MappingRow, MappingStore, SevdeskPort
    from sevbridge.domain.push.projects import check_project
    from sevbridge.domain.push.selection import select_invoices_for_contact
    from sevbridge.domain.push.service import PushService

_HOME = {
    "MappingRow": "ports",
    "MappingStore": "ports",
    "PushOutcome": "outcome",
    "PushRefused": "outcome",
    "PushService": "service",
    "SevdeskPort": "ports",
    "check_project": "projects",
    "select_invoices_for_contact": "selection",
}
__all__ = [
    "MappingRow",
    "MappingStore",
    "PushOutcome",
    "PushRefused",
    "PushService",
    "SevdeskPort",
    "check_project",
    "select_invoices_for_contact",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
