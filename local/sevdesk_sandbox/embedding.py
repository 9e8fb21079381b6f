"""`embed=a,b.c`: replace references with the referenced objects, and add reverse relations
(a contact's addresses and communication ways) that sevDesk only returns when embedded."""

from __future__ import annotations

import copy
from typing import Any

from .state import Account, SandboxState

# (objectName, embed name) -> (child objectName, the child's field that references the parent)
REVERSE_RELATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("Contact", "addresses"): ("ContactAddress", "contact"),
    ("Contact", "communicationWays"): ("CommunicationWay", "contact"),
}
# Embeds we accept but do not model; they come back empty rather than missing.
EMPTY_LISTS = {"tags", "checkAccountTransactionLogs", "checkAccountTransactions"}

Tree = dict[str, "Tree"]


class ChildIndex:
    """Children by parent id, built once per request and child type: embedding the addresses of a
    page of contacts scans the addresses once, not once per contact (thousands of rows when seeded)."""

    def __init__(self, state: SandboxState, account: Account) -> None:
        self._state = state
        self._account = account
        self._by_parent: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}

    def children(self, child_name: str, parent_field: str, parent_id: str) -> list[dict[str, Any]]:
        key = (child_name, parent_field)
        if key not in self._by_parent:
            grouped: dict[str, list[dict[str, Any]]] = {}
            for child in self._state.rows(self._account, child_name):
                parent = child.get(parent_field)
                if isinstance(parent, dict) and parent.get("id") is not None:
                    grouped.setdefault(str(parent["id"]), []).append(child)
            self._by_parent[key] = grouped
        return self._by_parent[key].get(parent_id, [])


def parse_embed(raw: str | None) -> Tree:
    tree: Tree = {}
    for path in (raw or "").split(","):
        node = tree
        for part in filter(None, (segment.strip() for segment in path.split("."))):
            node = node.setdefault(part, {})
    return tree


def expand(
    state: SandboxState, account: Account, row: dict[str, Any], tree: Tree, index: ChildIndex | None = None
) -> dict[str, Any]:
    """A copy of `row` with the embeds in `tree` resolved (recursively for a.b paths)."""
    index = index if index is not None else ChildIndex(state, account)
    result = copy.deepcopy(row)
    for name, subtree in tree.items():
        relation = REVERSE_RELATIONS.get((row.get("objectName", ""), name))
        if relation:
            child_name, parent_field = relation
            children = index.children(child_name, parent_field, str(row["id"]))
            result[name] = [expand(state, account, child, subtree, index) for child in children]
            continue
        if name in EMPTY_LISTS:
            result.setdefault(name, [])
            continue
        value = row.get(name)
        if isinstance(value, dict) and value.get("id") is not None and value.get("objectName"):
            target = state.get(account, str(value["objectName"]), value["id"])
            if target is not None:
                result[name] = expand(state, account, target, subtree, index)
    return result
