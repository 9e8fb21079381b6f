"""DynamoDB: transactions that are isolated and atomic, at a cost independent of the table's size.

moto 5.2.5's `TransactWriteItems` deep-copies every table it touches, applies its writes one by one,
and on a failed condition puts the copies back. That undoes every write another client made in the
meantime (the server answers requests on many threads), and copies the whole table on every
transaction. AWS promises the opposite: a transaction is all-or-nothing, nobody sees it half done,
and it never touches items it does not name.

Two changes restore that:
- every DynamoDB request runs under one lock, so a transaction (or a conditional write: check, then
  write) is never interleaved with another request;
- a transaction remembers the items it is about to change (a copy of each) and, if it fails, puts
  exactly those back.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from local_stack.moto_fixes.guard import Patch

# Re-entrant: moto may call back into DynamoDB while answering (e.g. a stream's Lambda mapping).
DYNAMODB_LOCK = threading.RLock()


def _one_request_at_a_time(call_action: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    def serialised_call_action(self: DynamoHandler) -> Any:
        with DYNAMODB_LOCK:
            return call_action(self)

    return serialised_call_action


class _UndoLog:
    """The items a transaction changed, as they were before, so a failure can put back exactly those."""

    def __init__(self, backend: DynamoDBBackend) -> None:
        self._backend = backend
        self._items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self._stream_lengths: dict[int, tuple[Table, int]] = {}

    def remember(self, table_name: str, key: dict[str, Any], current: Item | None) -> None:
        table = self._backend.get_table(table_name)
        hash_key, range_key = self._backend.get_keys_value(table, key)
        # update_item changes the stored Item in place, so keep a copy of this one item.
        self._items.append((table, hash_key, range_key, copy.deepcopy(current)))
        if table.stream_shard is not None and id(table) not in self._stream_lengths:
            self._stream_lengths[id(table)] = (table, len(table.stream_shard.items))

    def roll_back(self) -> None:
        for table, hash_key, range_key, before in reversed(self._items):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before  # type: ignore[assignment]  # moto's own typing
            elif before is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = before
        # The stream must not show writes that never happened.
        for table, length in self._stream_lengths.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's TransactWriteItems (same checks, order and errors), with an item-level undo log in
    place of whole-table copies. Runs under DYNAMODB_LOCK (taken for every request), so nobody sees
    or interleaves with it."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _UndoLog(self)
    try:
        errors = _apply(self, transact_items, undo)
    except BaseException:
        undo.roll_back()
        raise
    if any(code is not None for code, _, _ in errors):
        undo.roll_back()
        raise TransactionCanceledException(errors)


def _apply(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]], undo: _UndoLog
) -> list[tuple[str | None, str | None, dict[str, Any] | None]]:
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")

            if op_type == "Put":
                attrs = op["Item"]
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = backend.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                undo.remember(table_name, key, current)
            if op_type == "Put":
                backend.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,  # type: ignore[arg-type]
                    expression_attribute_values=values,  # type: ignore[arg-type]
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise  # the whole request fails (rolled back by the caller)
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:
            errors.append((type(exc).__name__, str(exc), original_item))
    return errors


PATCHES = (
    Patch(
        DynamoHandler,
        "call_action",
        "ce5f57cf83cde3400fa73a201929d18af92aaba2bb301d4d74609a1467b8daaf",
        replace=_one_request_at_a_time,
    ),
    Patch(
        DynamoDBBackend,
        "transact_write_items",
        "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4",
        replace=lambda _original: transact_write_items,
    ),
    # Relied on by _UndoLog: items live in Table.items[hash] or Table.items[hash][range].
    Patch(Table, "put_item", "de23933013ef842639046c19bcf7e418bce0474d810f6719368be4cedce11d47"),
    Patch(Table, "delete_item", "1594f7b07616c8cb8cdf0fbf58d6f54eeac83f25d7ac7b14e832a08e10efd8f9"),
)
