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
function's import ends with the collector running again."""

from __future__ import annotations

import gc

_was_enabled = gc.isenabled()
gc.disable()


def done() -> None:
    """The function's modules are loaded: freeze what they built and let the collector run again."""
    gc.freeze()
    if _was_enabled:
        gc.enable()
