"""A function's import without the cyclic garbage collector.

Importing a function allocates a few hundred thousand objects (modules, functions, classes, pydantic's
field metadata) that live as long as the execution environment. CPython's cyclic collector runs by
allocation count, so during the import it ran ~140 times, one of them a full collection walking all of
it: 20–55 ms of a worker's cold start (`make bench`, issue 10 §4). `functions/*/app.py` imports this
module before anything else, which pauses the collector, and calls `done()` after its own import: what
the import built moves to the permanent generation (`gc.freeze()`), which later collections do not walk
again, and collection resumes. Reference counting frees memory as always meanwhile; only garbage cycles
made during the import wait for the first collection after `done()` (frozen ones stay: the import's
objects are meant to live as long as the process). tests/unit/test_cold_path.py checks that every
function's import ends with the collector running again.

A function that defers modules to their first use (a worker's message path, the push engine) loads them
inside `first_use()`, the same way: otherwise that first message pays the collections the import was
spared (benchmarks: import + first message)."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator

_was_enabled = gc.isenabled()
gc.disable()


def done() -> None:
    """The function's modules are loaded: freeze what they built and let the collector run again."""
    gc.freeze()
    if _was_enabled:
        gc.enable()


@contextlib.contextmanager
def first_use() -> Iterator[None]:
    """Around the imports a function defers to first use (and the building of what they provide): no
    collection while they load, and what they built frozen like the cold start's modules — with the
    objects the invocation holds at that moment, once per execution environment. Once they are loaded it
    only pauses the collector for the few look-ups (nothing is frozen: later objects stay collectable)."""
    before = len(sys.modules)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) != before:
            gc.freeze()
        if was_enabled:
            gc.enable()
