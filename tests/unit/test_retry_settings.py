"""The transfer retry knobs read from the environment (TRANSFER_MAX_ATTEMPTS, TRANSFER_RETRY_DELAYS)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sevbridge.config import Settings

pytestmark = pytest.mark.unit

# Every variable without a default, as template.yaml sets them.
REQUIRED = {field.alias: "x" for field in Settings.model_fields.values() if field.is_required() and field.alias}


def settings(**env: Any) -> Settings:
    return Settings.model_validate({**REQUIRED, **env})


def test_defaults_grow_from_ten_seconds_to_fifteen_minutes() -> None:
    assert settings().transfer_retry_delays == (10, 30, 120, 300, 900)
    assert settings().transfer_max_attempts == 8


def test_delays_are_a_comma_separated_list_of_seconds() -> None:
    assert settings(TRANSFER_RETRY_DELAYS="0").transfer_retry_delays == (0,)
    assert settings(TRANSFER_RETRY_DELAYS=" 5, 20 ,60").transfer_retry_delays == (5, 20, 60)


@pytest.mark.parametrize("value", ["", "ten", "10,-1", "10,901"])
def test_bad_delays_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        settings(TRANSFER_RETRY_DELAYS=value)


@pytest.mark.parametrize("value", ["0", "51"])
def test_attempts_stay_in_range(value: str) -> None:
    with pytest.raises(ValidationError):
        settings(TRANSFER_MAX_ATTEMPTS=value)
