"""Patches applied to moto only while moto's code is the code they were written against.

Each patch names the moto function it replaces (or relies on) and the SHA-256 of that function's
source as reviewed. If a moto upgrade changes one of them, `apply_patches` raises `MotoChanged`
instead of running a fix that may no longer fit: the local stack refuses to start and the test suite
fails at collection, naming each function to re-check.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

# Set on each replacement: the moto function it replaced (still checked by `changed`).
REPLACED = "__sevbridge_moto_original__"


class MotoChanged(RuntimeError):
    """moto's code differs from the code a fix was written against."""


@dataclass(frozen=True)
class Patch:
    owner: type
    name: str
    source_sha256: str
    # Builds the replacement from moto's original; None = not replaced, only relied on by a replacement.
    replace: Callable[[Any], Any] | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.name}"


_lock = threading.Lock()


def source_sha256(function: Any) -> str:
    target: Any = function.fget if isinstance(function, property) else function
    return hashlib.sha256(inspect.getsource(target).encode("utf-8")).hexdigest()


def changed(patches: Iterable[Patch]) -> list[str]:
    """The patches whose moto function is no longer the one they were written against."""
    stale = []
    for patch in patches:
        current = patch.owner.__dict__.get(patch.name)
        original = getattr(current, REPLACED, current)
        if original is None:
            stale.append(f"{patch.qualified_name} (gone)")
        elif (digest := source_sha256(original)) != patch.source_sha256:
            stale.append(f"{patch.qualified_name} (source sha256 now {digest[:12]}…)")
    return stale


def apply_patches(patches: Iterable[Patch]) -> None:
    """Applies every patch once per process; all or none."""
    patches = list(patches)
    with _lock:
        stale = changed(patches)
        if stale:
            raise MotoChanged(
                f"moto {version('moto')} is not the moto the local stack's fixes were written for; "
                f"these functions changed: {', '.join(stale)}. Re-check each fix in local/local_stack/moto_fixes "
                "against the new code (docs/local-stack.md, 'Where the local stack differs from AWS'), then update "
                "its source_sha256."
            )
        for patch in patches:
            original = patch.owner.__dict__[patch.name]
            if patch.replace is None or hasattr(original, REPLACED):
                continue  # only relied on, or applied before
            replacement = patch.replace(original)
            setattr(replacement, REPLACED, original)
            setattr(patch.owner, patch.name, replacement)
