"""The pull domain's SevdeskReader on top of SevdeskClient: which list, filters and embeds each kind
reads. Rows are handed on in sevDesk's own shape (the domain's mapping rules interpret them).

Same per-tenant client as pushes (same brake, backoff and 401 handling). Filters that exist only in
sevDesk's tag text (`updateAfter`, `orderType`) or that a tenant may ignore are re-checked by the
domain. `requests` counts the calls made (automatic retries of one call are not counted again).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.params import QueryParams
from sevbridge.common.normalize import to_id, to_str
from sevbridge.domain.pull.records import ImportKind

CUSTOMER_CATEGORY = 3
BIG_PAGE = 1000

# (list path, parameters every read of the kind sends)
QUERIES: dict[ImportKind, tuple[str, dict[str, object]]] = {
    ImportKind.CONTACTS: (
        "/Contact",
        {
            "depth": 1,  # without it sevDesk leaves persons out (api-facts §4)
            "category[id]": CUSTOMER_CATEGORY,
            "category[objectName]": "Category",
            "embed": "addresses,addresses.country,communicationWays",
        },
    ),
    ImportKind.ARTICLES: ("/Part", {"embed": "category,unity"}),
    ImportKind.ORDER_CONFIRMATIONS: ("/Order", {"orderType": "AB", "embed": "contact"}),
    # Only embeds the spec lists for invoices: e-mail and phone come from the contacts import instead.
    ImportKind.INVOICES: ("/Invoice", {"embed": "contact,contact.parent,addressCountry"}),
}


def _rows(objects: Any) -> list[Mapping[str, Any]]:
    if isinstance(objects, list):
        return [row for row in objects if isinstance(row, Mapping)]
    return [objects] if isinstance(objects, Mapping) else []


def _owner(object_name: str, object_id: str) -> dict[str, str]:
    key = object_name[0].lower() + object_name[1:]
    return {f"{key}[id]": object_id, f"{key}[objectName]": object_name}


class SevdeskImportReader:
    """Implements sevbridge.domain.pull.ports.SevdeskReader for one tenant."""

    def __init__(self, client: SevdeskClient) -> None:
        self._client = client
        self.requests = 0
        self._categories: dict[str, str | None] | None = None

    def _get(self, path: str, params: QueryParams | None = None) -> Any:
        self.requests += 1
        return self._client.get(path, params)

    def _all(self, path: str, params: QueryParams, page: int = 100) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        offset = 0
        while True:
            rows = _rows(self._get(path, {**params, "limit": page, "offset": offset}))
            found += rows
            if len(rows) < page:
                return found
            offset += page

    def page(self, kind: ImportKind, *, since: datetime | None, offset: int, limit: int) -> list[Mapping[str, Any]]:
        path, params = QUERIES[kind]
        query: dict[str, object] = {**params, "limit": limit, "offset": offset}
        if since is not None:
            query["updateAfter"] = since  # Unix seconds (params.py), exclusive
        return _rows(self._get(path, query))

    def fetch(self, kind: ImportKind, sevdesk_id: str) -> Mapping[str, Any] | None:
        path, params = QUERIES[kind]
        self.requests += 1
        return self._client.get_one(f"{path}/{sevdesk_id}", {"embed": params["embed"]})

    def order_positions(self, order_id: str) -> list[Mapping[str, Any]]:
        return self._all(f"/Order/{order_id}/getPositions", {"embed": "unity,part"})

    def communication_ways(self, contact_id: str) -> list[Mapping[str, Any]]:
        # By contact only: combined with type/main some tenants answer empty (api-facts §4).
        return self._all("/CommunicationWay", _owner("Contact", contact_id))

    def contact_addresses(self, contact_id: str) -> list[Mapping[str, Any]]:
        return self._all("/ContactAddress", {**_owner("Contact", contact_id), "embed": "country"})

    def cancellations(self, contact_id: str | None) -> list[Mapping[str, Any]]:
        params: dict[str, object] = {"invoiceType": "SR"}
        if contact_id is not None:
            params.update(_owner("Contact", contact_id))
        return self._all("/Invoice", params)

    def category_name(self, category_id: str) -> str | None:
        if self._categories is None:
            rows = self._all("/Category", {"objectType": "Part"}, page=BIG_PAGE)
            self._categories = {
                category: to_str(row.get("name")) for row in rows if (category := to_id(row.get("id"))) is not None
            }
        return self._categories.get(category_id)
