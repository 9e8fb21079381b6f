"""System objects every sevDesk account has (api-facts §4, §6): units, countries, categories,
communication way keys. Their ids are the same in every account, as in the real system."""

from __future__ import annotations

from typing import Any

from .clock import EPOCH_UPDATE

# id, name, translationCode, uneceTradeUnitCode
UNITS: tuple[tuple[int, str, str, str | None], ...] = (
    (1, "Stk", "UNITY_PIECE", "C62"),
    (2, "m²", "UNITY_SQUARE_METER", "MTK"),
    (3, "m", "UNITY_METER", "MTR"),
    (4, "kg", "UNITY_KILOGRAM", "KGM"),
    (5, "t", "UNITY_TON", "TNE"),
    (6, "lfm", "UNITY_LINEAR_METER", "LM"),
    (7, "pauschal", "UNITY_LUMP_SUM", "LS"),
    (8, "m³", "UNITY_CUBIC_METER", "MTQ"),
    (9, "Std", "UNITY_HOUR", "HUR"),
    (10, "km", "UNITY_KILOMETER", "KMT"),
    (11, "%", "UNITY_PERCENT", "P1"),
    (13, "Tag", "UNITY_DAY", "DAY"),
    (15, "l", "UNITY_LITER", "LTR"),
    (37, "", "UNITY_EMPTY", None),
)

# id, code, German name, English name, locale. 230 is the second "gb" row real accounts have
# (api-facts §4: pick "United Kingdom" explicitly), so `?code=gb` returns two rows here too.
COUNTRIES: tuple[tuple[int, str, str, str, str], ...] = (
    (1, "de", "Deutschland", "Germany", "de_DE"),
    (2, "ch", "Schweiz", "Switzerland", "de_CH"),
    (3, "at", "Österreich", "Austria", "de_AT"),
    (4, "fr", "Frankreich", "France", "fr_FR"),
    (5, "nl", "Niederlande", "Netherlands", "nl_NL"),
    (6, "it", "Italien", "Italy", "it_IT"),
    (7, "es", "Spanien", "Spain", "es_ES"),
    (8, "pl", "Polen", "Poland", "pl_PL"),
    (9, "gb", "Vereinigtes Königreich", "United Kingdom", "en_GB"),
    (10, "be", "Belgien", "Belgium", "fr_BE"),
    (11, "us", "USA", "United States of America", "en_US"),
    (230, "gb", "Großbritannien", "Great Britain", "en_GB"),
)

# id, objectType, name, translationCode
CATEGORIES: tuple[tuple[int, str, str, str], ...] = (
    (2, "Contact", "Lieferant", "CATEGORY_SUPPLIER"),
    (3, "Contact", "Kunde", "CATEGORY_CUSTOMER"),
    (4, "Contact", "Partner", "CATEGORY_PARTNER"),
    (28, "Contact", "Interessent", "CATEGORY_PROSPECT_CUSTOMER"),
    (43, "ContactAddress", "Arbeit", "CATEGORY_WORK"),
    (44, "ContactAddress", "Privat", "CATEGORY_PRIVATE"),
    (45, "ContactAddress", "Leer", "CATEGORY_EMPTY"),
    (47, "ContactAddress", "Rechnungsadresse", "CATEGORY_INVOICE_ADDRESS"),
    (48, "ContactAddress", "Lieferadresse", "CATEGORY_DELIVERY_ADDRESS"),
    (49, "ContactAddress", "Abholadresse", "CATEGORY_PICKUP_ADDRESS"),
    (40, "Part", "Artikel", "CATEGORY_PART"),
)

COMMUNICATION_WAY_KEYS: tuple[tuple[int, str, str], ...] = (
    (1, "Privat", "COMM_WAY_KEY_PRIVAT"),
    (2, "Arbeit", "COMM_WAY_KEY_WORK"),
    (3, "Fax", "COMM_WAY_KEY_FAX"),
    (4, "Mobil", "COMM_WAY_KEY_MOBILE"),
    (5, " ", "COMM_WAY_KEY_EMPTY"),
    (6, "Autobox", "COMM_WAY_KEY_AUTOBOX"),
    (7, "Newsletter", "COMM_WAY_KEY_NEWSLETTER"),
    (8, "Rechnungsadresse", "COMM_WAY_KEY_INVOICE"),
)


def _system(object_id: int, object_name: str, **fields: Any) -> dict[str, Any]:
    # System rows have no creation date and the epoch update stamp in real responses.
    return {"id": str(object_id), "objectName": object_name, "create": None, "update": EPOCH_UPDATE, **fields}


def system_objects() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for unit_id, name, translation, unece in UNITS:
        rows.append(
            _system(
                unit_id,
                "Unity",
                name=name,
                translationCode=translation,
                uneceTradeUnitCode=unece,
                unitySystem="general",  # live (api-facts §10); one recorded unit said "metric"
                additionalInformation=None,
            )
        )
    for country_id, code, name, name_en, locale in COUNTRIES:
        rows.append(
            _system(
                country_id,
                "StaticCountry",
                code=code,
                name=name,
                nameEn=name_en,
                translationCode=f"COUNTRY_{code.upper()}",
                locale=locale,
                priority="100" if code == "de" else "0",
                additionalInformation=None,
            )
        )
    for category_id, object_type, name, translation in CATEGORIES:
        rows.append(
            _system(
                category_id,
                "Category",
                name=name,
                objectType=object_type,
                priority="0",
                code=None,
                color="#000000",
                postingAccount=None,
                type=None,
                translationCode=translation,
                parent=None,
            )
        )
    for key_id, name, translation in COMMUNICATION_WAY_KEYS:
        rows.append(_system(key_id, "CommunicationWayKey", name=name, translationCode=translation))
    return rows


def check_accounts(currency: str = "EUR") -> list[dict[str, Any]]:
    """Per-account rows (the state gives them ids): a cash register and a bank account."""
    common: dict[str, Any] = {
        "currency": currency,
        "baseAccount": "0",
        "priority": "1",
        "status": "100",
        "balance": "0",
        "bankServer": None,
        "autoMapTransactions": "1",
        "autoSyncTransactions": "0",
        "lastSync": None,
        "bic": None,
    }
    return [
        {
            "name": "Kasse",
            "iban": None,
            "type": "offline",
            "importType": None,
            "defaultAccount": "0",
            "accountingNumber": "1000",
            **common,
        },
        {
            "name": "Bank",
            "iban": "DE02120300000000202051",
            "type": "online",
            "importType": "FINTS",
            "defaultAccount": "1",
            "accountingNumber": "1200",
            **common,
        },
    ]
