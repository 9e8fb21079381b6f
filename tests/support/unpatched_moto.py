"""pytest plugin: run tests on moto as released, without `local_stack.moto_fixes`.

    .venv/bin/pytest -p tests.support.unpatched_moto tests/functional/local_aws

For checking that the repros still fail on moto itself (e.g. after a moto upgrade): while moto has the
bugs, the repros must fail here and pass without this plugin. Never part of a normal run.
"""

from __future__ import annotations

from local_stack import moto_fixes


def _not_applied() -> None:
    return None


moto_fixes.apply = _not_applied
