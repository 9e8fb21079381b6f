"""Fixes for moto behaviours that break guarantees AWS gives and sevbridge relies on.

Applied to the moto server the local stack runs (`local_stack.aws.MotoService`) and to the test
suite's `mock_aws` (tests/conftest.py), so every table and queue - today's and those added later -
behaves the same in both. What is fixed, and what still differs from AWS: docs/local-stack.md.
"""

from __future__ import annotations

from local_stack.moto_fixes import dynamodb_isolation, sqs_fifo
from local_stack.moto_fixes.guard import MotoChanged, Patch, apply_patches

PATCHES: tuple[Patch, ...] = (*dynamodb_isolation.PATCHES, *sqs_fifo.PATCHES)

__all__ = ["PATCHES", "MotoChanged", "apply"]


def apply() -> None:
    """Idempotent; raises MotoChanged if moto's code is not the code the fixes were written for."""
    apply_patches(PATCHES)
