"""Properties of the coercion helpers for sevDesk's string-typed JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sevbridge.adapters.sevdesk.normalize import to_bool, to_decimal, to_id, to_int, to_str

pytestmark = pytest.mark.unit

BLANKS = [None, "", "   "]
finite_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9)


@given(st.integers())
def test_int_round_trips_through_sevdesks_string_forms(n: int) -> None:
    assert to_int(n) == n
    assert to_int(str(n)) == n
    assert to_int(f" {n} ") == n
    assert to_int(f"{n}.00") == n


@given(st.integers(), st.integers(min_value=1, max_value=99))
def test_int_refuses_fractions(n: int, cents: int) -> None:
    with pytest.raises(ValueError):
        to_int(f"{n}.{cents:02d}")


@given(finite_decimals)
def test_decimal_round_trips_strings_and_keeps_scale(d: Decimal) -> None:
    assert to_decimal(str(d)) == d
    assert to_decimal(d) == d
    assert str(to_decimal(f"{d:.2f}")) == f"{d:.2f}"  # "19.00" keeps its two places


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_decimal_from_json_floats_uses_the_shortest_form(f: float) -> None:
    result = to_decimal(f)
    assert result == Decimal(repr(f))
    assert float(result) == f  # type: ignore[arg-type]


@given(st.text(alphabet="abcdfghjklmoqrtuvwxz", min_size=1))
def test_decimal_refuses_words(word: str) -> None:
    with pytest.raises(ValueError):
        to_decimal(word)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", float("inf"), object()])
def test_decimal_refuses_non_finite_and_odd_types(value: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(value)


def test_quantity_true_means_one() -> None:
    # A position's quantity came back as `true` in a live saveInvoice answer (api-facts §10).
    assert to_decimal(True) == 1
    assert to_decimal(False) == 0


@given(st.sampled_from([True, False]))
def test_bool_accepts_every_spelling(b: bool) -> None:
    for spelling in (b, int(b), str(int(b)), str(b).lower(), str(b).upper()):
        assert to_bool(spelling) is b


@pytest.mark.parametrize("value", [2, "2", "maybe", 0.5])
def test_bool_refuses_other_values(value: object) -> None:
    with pytest.raises(ValueError):
        to_bool(value)


@given(st.integers(min_value=0, max_value=2**53))  # beyond 2**53 a JSON float cannot carry an id
def test_ids_are_canonical_strings(n: int) -> None:
    assert to_id(n) == str(n)
    assert to_id(str(n)) == str(n)
    assert to_id(f" {n} ") == str(n)
    assert to_id(float(n)) == str(int(float(n)))


def test_id_refuses_booleans() -> None:
    with pytest.raises(ValueError):
        to_id(True)


@pytest.mark.parametrize("blank", BLANKS)
def test_blanks_are_none(blank: object) -> None:
    assert to_int(blank) is None
    assert to_decimal(blank) is None
    assert to_bool(blank) is None
    assert to_id(blank) is None


def test_to_str() -> None:
    assert to_str(None) is None
    assert to_str("") is None
    assert to_str(1035) == "1035"
    assert to_str(" Muster ") == " Muster "
