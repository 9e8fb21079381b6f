"""sevDesk resources the sandbox serves; one module per resource, each with a `routes` object."""

from __future__ import annotations

from ..routing import Route
from . import (
    communication_ways,
    contact_addresses,
    contacts,
    custom_fields,
    documents_delete,
    invoice_cancel,
    invoices,
    orders,
    parts,
    reference,
    tools,
)

MODULES = (
    tools,
    reference,
    contacts,
    contact_addresses,
    communication_ways,
    custom_fields,
    invoices,
    invoice_cancel,
    parts,
    orders,
    documents_delete,
)

ALL_ROUTES: list[Route] = [route for module in MODULES for route in module.routes.routes]
