"""The push domain: platform contacts, invoices and project drafts into a tenant's sevDesk account.

Pure domain code: no boto3, no httpx. sevDesk and the mapping table come in through ports.py.
"""

from sevbridge.domain.push.outcome import PushOutcome, PushRefused
from sevbridge.domain.push.ports import MappingRow, MappingStore, SevdeskPort
from sevbridge.domain.push.projects import check_project
from sevbridge.domain.push.selection import select_invoices_for_contact
from sevbridge.domain.push.service import PushService

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
