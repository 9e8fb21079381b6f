"""I4 unit matching: names, translation codes, UN/ECE codes, aliases, tenant mapping."""

from __future__ import annotations

import pytest

from sevbridge.domain.push.outcome import PushRefused
from sevbridge.domain.push.ports import SdUnit
from sevbridge.domain.push.units import UnitMatcher, normalise

pytestmark = pytest.mark.unit

SYSTEM = [
    SdUnit("1", "Stk", "UNITY_PIECE", "C62"),
    SdUnit("2", "m²", "UNITY_SQUARE_METER", "MTK"),
    SdUnit("3", "m", "UNITY_METER", "MTR"),
    SdUnit("4", "kg", "UNITY_KILOGRAM", "KGM"),
    SdUnit("7", "pauschal", "UNITY_LUMP_SUM", "LS"),
    SdUnit("9", "Std", "UNITY_HOUR", "HUR"),
    SdUnit("10", "km", "UNITY_KILOMETER", "KMT"),
    SdUnit("13", "Tag", "UNITY_DAY", "DAY"),
    SdUnit("15", "l", "UNITY_LITER", "LTR"),
    SdUnit("37", "", "UNITY_EMPTY", None),
]


@pytest.mark.parametrize(
    ("platform_unit", "unit_id"),
    [
        ("Std", "9"),
        ("std.", "9"),
        ("h", "9"),
        ("Hour", "9"),
        ("Stunden", "9"),
        ("HUR", "9"),  # UN/ECE code
        ("unity_hour", "9"),  # translation code
        ("Stück", "1"),
        ("pcs", "1"),
        ("STK", "1"),
        ("kg", "4"),
        ("m", "3"),
        ("m2", "2"),
        ("qm", "2"),
        ("Pauschal", "7"),
        ("lump sum", "7"),
        ("Flat rate", "7"),
        ("day", "13"),
        ("Tage", "13"),
        ("KM", "10"),
        ("Liter", "15"),
    ],
)
def test_system_units_by_name_code_and_alias(platform_unit: str, unit_id: str) -> None:
    unit = UnitMatcher(SYSTEM).find(platform_unit)
    assert unit is not None and unit.id == unit_id


def test_unknown_and_empty_units_are_not_matched() -> None:
    matcher = UnitMatcher(SYSTEM)
    assert matcher.find("Palette") is None
    assert matcher.find("") is None
    assert matcher.find("   ") is None


def test_tenant_unit_without_code_is_matched_through_its_aliased_name() -> None:
    units = [SdUnit("374970", "Stunde(n)", None, None), SdUnit("374971", "Monat(e)", None, None)]
    matcher = UnitMatcher(units)
    assert matcher.find("h").id == "374970"  # type: ignore[union-attr]
    assert matcher.find("month").id == "374971"  # type: ignore[union-attr]


def test_system_unit_wins_over_a_same_named_tenant_unit() -> None:
    units = [SdUnit("400001", "Std", None, None), *SYSTEM]
    assert UnitMatcher(units).find("Std").id == "9"  # type: ignore[union-attr]


def test_exact_name_wins_over_alias() -> None:
    units = [*SYSTEM, SdUnit("500000", "h", None, None)]
    assert UnitMatcher(units).find("h").id == "500000"  # type: ignore[union-attr]


def test_unit_mapping_is_case_insensitive_and_may_name_code_or_alias() -> None:
    matcher = UnitMatcher(SYSTEM, {"Palette": "Stk", "KARTON": "C62", "Einsatz": "Stunde"})
    assert matcher.find("palette").id == "1"  # type: ignore[union-attr]
    assert matcher.find("Karton").id == "1"  # type: ignore[union-attr]
    assert matcher.find("einsatz").id == "9"  # type: ignore[union-attr]


def test_resolve_names_every_missing_unit_and_where_to_create_it() -> None:
    with pytest.raises(PushRefused) as refused:
        UnitMatcher(SYSTEM).resolve([("h", None), ("Palette", None), ("Kiste", None), ("Palette", None)])
    message = refused.value.message
    assert message.startswith("units 'Palette', 'Kiste' not found in sevDesk")
    assert "Einstellungen → Artikel/Produkte → Einheiten" in message
    assert "unit_mapping" in message
    assert [d["unit"] for d in refused.value.details] == ["Palette", "Kiste"]


def test_resolve_uses_the_fallback_unit() -> None:
    without_flat_rate = [u for u in SYSTEM if u.unece_code != "LS"]
    assert UnitMatcher(without_flat_rate).resolve([("pauschal", "Std"), ("kg", None)]) == {"pauschal": "9", "kg": "4"}


def test_normalise() -> None:
    assert normalise("  Std.  ") == "std"
    assert normalise("Lump   Sum") == "lump sum"
