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


def parse_embed(raw: str | None) -> Tree:
    tree: Tree = {}
    for path in (raw or "").split(","):
        node = tree
        for part in filter(None, (segment.strip() for segment in path.split("."))):
            node = node.setdefault(part, {})
    return tree


def expand(state: SandboxState, account: Account, row: dict[str, Any], tree: Tree) -> dict[str, Any]:
    """A copy of `row` with the embeds in `tree` resolved (recursively for a.b paths)."""
    result = copy.deepcopy(row)
    for name, subtree in tree.items():
        relation = REVERSE_RELATIONS.get((row.get("objectName", ""), name))
        if relation:
            child_name, parent_field = relation
            children = [
                child
                for child in state.rows(account, child_name)
                if isinstance(child.get(parent_field), dict) and child[parent_field].get("id") == row["id"]
            ]
            result[name] = [expand(state, account, child, subtree) for child in children]
            continue
        if name in EMPTY_LISTS:
            result.setdefault(name, [])
            continue
        value = row.get(name)
        if isinstance(value, dict) and value.get("id") is not None and value.get("objectName"):
            target = state.get(account, str(value["objectName"]), value["id"])
            if target is not None:
                result[name] = expand(state, account, target, subtree)
    return result
