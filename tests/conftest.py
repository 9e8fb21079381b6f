"""Every tier runs on the same corrected moto as the local stack (`local_stack.moto_fixes`): moto's
own transactions and FIFO queues break guarantees AWS gives (docs/local-stack.md)."""

from __future__ import annotations

from local_stack import moto_fixes

moto_fixes.apply()
