"""The moto fixes are applied only to the moto code they were written against; a changed moto is
refused loudly, naming what changed, and nothing is patched."""

from __future__ import annotations

import pytest
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.models import SQSBackend

from local_stack import moto_fixes
from local_stack.moto_fixes import dynamodb_isolation, sqs_fifo
from local_stack.moto_fixes.guard import MotoChanged, Patch, apply_patches, changed, source_sha256

pytestmark = pytest.mark.unit


def test_the_installed_moto_is_the_code_the_fixes_were_written_for() -> None:
    assert changed(moto_fixes.PATCHES) == []


def test_the_fixes_are_in_place_once_however_often_they_are_applied() -> None:
    moto_fixes.apply()
    wrapper = DynamoHandler.__dict__["call_action"]
    moto_fixes.apply()

    assert DynamoHandler.__dict__["call_action"] is wrapper, "applied twice would take the lock twice per request"
    assert DynamoDBBackend.__dict__["transact_write_items"] is dynamodb_isolation.transact_write_items
    assert SQSBackend.__dict__["receive_message"] is sqs_fifo.receive_message


class _FakeMotoBackend:
    def reviewed(self) -> str:
        return "as reviewed"

    def upgraded(self) -> str:
        return "changed by a moto release"


def test_a_changed_moto_function_stops_everything_and_is_named() -> None:
    reviewed = Patch(
        _FakeMotoBackend,
        "reviewed",
        source_sha256(_FakeMotoBackend.reviewed),
        replace=lambda _original: lambda self: "patched",
    )
    stale = Patch(_FakeMotoBackend, "upgraded", "0" * 64, replace=lambda _original: lambda self: "patched")

    with pytest.raises(MotoChanged) as refused:
        apply_patches([reviewed, stale])

    assert "_FakeMotoBackend.upgraded" in str(refused.value)
    assert "_FakeMotoBackend.reviewed" not in str(refused.value)
    assert _FakeMotoBackend().reviewed() == "as reviewed", "all or nothing: no fix applied on a changed moto"


def test_a_function_moto_no_longer_has_is_refused() -> None:
    with pytest.raises(MotoChanged, match=r"_FakeMotoBackend\.removed \(gone\)"):
        apply_patches([Patch(_FakeMotoBackend, "removed", "0" * 64)])
