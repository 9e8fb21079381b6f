"""Deleting objects with what depends on them, for the real DELETE endpoints and the admin API.

A contact takes its addresses, communication ways and custom fields along (as in sevDesk); an
invoice or order takes its positions. Whether a delete is *allowed* (409 for a contact still used
by documents, for a document that is no longer a draft) is the caller's business: the admin API may
delete anything, to simulate what a person does in sevDesk's web UI.
"""

from __future__ import annotations

from .state import Account, SandboxState

# objectName -> (child objectName, the child's field that references the parent). The contact's
# entry is what DELETE /Contact removes (resources/contacts.py; a test keeps the two equal).
DEPENDENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Contact": (("ContactAddress", "contact"), ("CommunicationWay", "contact"), ("ContactCustomField", "contact")),
    "Invoice": (("InvoicePos", "invoice"),),
    "Order": (("OrderPos", "order"),),
}


def delete_with_dependents(state: SandboxState, account: Account, object_name: str, object_id: str) -> int:
    """Deletes the object and its dependents; returns how many rows went. The caller holds the lock."""
    removed = 0
    for child_name, field in DEPENDENTS.get(object_name, ()):
        for child in state.rows(account, child_name):
            parent = child.get(field)
            if isinstance(parent, dict) and str(parent.get("id")) == object_id:
                state.delete(account, child_name, child["id"])
                removed += 1
    if state.get(account, object_name, object_id) is not None:
        state.delete(account, object_name, object_id)
        removed += 1
    return removed
