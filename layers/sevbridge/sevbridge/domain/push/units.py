"""Platform unit names → the tenant's sevDesk units (I4).

sevDesk units are read-only over the API (api-facts §6), so we map and never create. A platform
unit is looked up, case-insensitively, by: the tenant's `unit_mapping`, then the sevDesk unit's
name, translationCode and UN/ECE code, then a built-in alias table that turns common spellings into
UN/ECE codes ("h", "Stunde" → HUR). Tenant-made units often have no UN/ECE code, so their names go
through the same alias table: "Stunde(n)" in sevDesk matches "h" from the platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sevbridge.domain.push.outcome import PushRefused
from sevbridge.domain.push.ports import SdUnit

_ALIASES_BY_CODE: dict[str, tuple[str, ...]] = {
    "HUR": ("h", "hr", "hrs", "hour", "hours", "std", "stunde", "stunden", "stunde(n)", "stde"),
    "C62": ("pcs", "pc", "piece", "pieces", "stk", "stück", "stueck", "st", "item", "items", "ea", "each"),
    "KGM": ("kg", "kilo", "kilogram", "kilograms", "kilogramm"),
    "MTR": ("m", "meter", "metre", "meters", "metres"),
    "MTK": ("m²", "m2", "qm", "sqm", "quadratmeter", "square meter", "square metre", "square meters"),
    "MTQ": ("m³", "m3", "cbm", "kubikmeter", "cubic meter", "cubic metre"),
    "LS": ("pauschal", "pauschale", "pausch", "psch", "flat", "flat rate", "flatrate", "lump sum", "lumpsum"),
    "DAY": ("d", "day", "days", "tag", "tage", "tag(e)", "arbeitstag", "arbeitstage"),
    "KMT": ("km", "kilometer", "kilometre", "kilometers", "kilometres"),
    "LTR": ("l", "ltr", "liter", "litre", "liters", "litres"),
    "TNE": ("t", "tonne", "tonnen", "ton", "tons"),
    "LM": ("lfm", "lfd. m", "laufmeter", "laufende meter", "running metre", "running meter"),
    "P1": ("%", "percent", "prozent"),
    "MIN": ("min", "minute", "minuten", "minutes", "minute(n)"),
    "WEE": ("wk", "week", "weeks", "woche", "wochen", "woche(n)"),
    "MON": ("mon", "month", "months", "monat", "monate", "monat(e)"),
    "ANN": ("yr", "year", "years", "jahr", "jahre", "jahr(e)"),
}

ALIASES: dict[str, str] = {alias: code for code, names in _ALIASES_BY_CODE.items() for alias in names}

WHERE_TO_CREATE = (
    "Create it in sevDesk under Einstellungen → Artikel/Produkte → Einheiten, or map it to an existing "
    'sevDesk unit with `unit_mapping` in the connection settings (e.g. {"h": "Std"}).'
)


def normalise(name: str) -> str:
    """' Std. ' → 'std': case, surrounding blanks, inner runs of blanks and a trailing dot don't matter."""
    text = " ".join(name.split()).casefold()
    return text[:-1].rstrip() if text.endswith(".") else text


def canonical_code(name: str) -> str | None:
    return ALIASES.get(normalise(name))


def _unit_codes(unit: SdUnit) -> set[str]:
    codes = {normalise(c) for c in (unit.unece_code,) if c}
    by_name = canonical_code(unit.name) if unit.name else None
    if by_name:
        codes.add(normalise(by_name))
    return codes


class UnitMatcher:
    """Resolves unit names against one tenant's units. Pure: the caller loads the units."""

    def __init__(self, units: Iterable[SdUnit], unit_mapping: Mapping[str, str] | None = None) -> None:
        # Lowest id first: system units win over same-named tenant units.
        self._units = sorted((u for u in units if u.name or u.unece_code), key=lambda u: (len(u.id), u.id))
        self._mapping = {normalise(k): v for k, v in (unit_mapping or {}).items()}

    def find(self, platform_unit: str) -> SdUnit | None:
        target = self._mapping.get(normalise(platform_unit), platform_unit)
        wanted = normalise(target)
        if not wanted:
            return None
        for unit in self._units:  # 1. exact name, translation code or UN/ECE code
            if wanted in {normalise(v) for v in (unit.name, unit.translation_code, unit.unece_code) if v}:
                return unit
        code = canonical_code(target)  # 2. alias → UN/ECE code, against codes and alias-able names
        if code is None:
            return None
        return next((u for u in self._units if normalise(code) in _unit_codes(u)), None)

    def resolve(self, wanted: Iterable[tuple[str, str | None]]) -> dict[str, str]:
        """(unit, fallback or None) pairs → {unit: sevDesk unit id}; PushRefused naming every missing unit."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for name, fallback in wanted:
            if name in found or name in missing:
                continue
            unit = self.find(name)
            if unit is None and fallback:
                unit = self.find(fallback)
            if unit is None:
                missing.append(name)
            else:
                found[name] = unit.id
        if missing:
            raise missing_units(missing)
        return found


def missing_units(missing: list[str]) -> PushRefused:
    quoted = ", ".join(f"'{m}'" for m in missing)
    noun = "unit" if len(missing) == 1 else "units"
    return PushRefused(
        f"{noun} {quoted} not found in sevDesk; nothing was transferred. {WHERE_TO_CREATE}",
        details=[{"unit": m, "problem": "unit not found in sevDesk"} for m in missing],
    )
