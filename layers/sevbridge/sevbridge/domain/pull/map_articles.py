"""M2: sevDesk parts of category "Artikel" → ArticleRecord (pure functions over the live shape).

Input is a Part row as `GET /Part?embed=category,unity` answers it. The category decides what is an
article; without the embed (only {id, objectName}) the caller passes the category's name. Prices:
`priceNet`, else `price` (described as net); the gross price as sevDesk holds it. Status 100 is
active, 50 inactive (api-facts §7).
"""

from __future__ import annotations

from sevbridge.domain.pull.records import ArticleRecord, UnitRecord
from sevbridge.domain.pull.wire import Row, embedded, exact, integer, ref_id, text

ARTICLE_CATEGORY_NAME = "artikel"
ARTICLE_TRANSLATION_CODE = "CATEGORY_PART"
INACTIVE = 50


def category_name(row: Row) -> str | None:
    category = embedded(row.get("category"))
    return text(category.get("name")) if category else None


def is_article(row: Row, resolved_category_name: str | None = None) -> bool:
    """Category "Artikel" (by name, or sevDesk's translation code for it)."""
    category = embedded(row.get("category"))
    if category is not None and text(category.get("translationCode")) == ARTICLE_TRANSLATION_CODE:
        return True
    name = category_name(row) or resolved_category_name
    return name is not None and name.casefold() == ARTICLE_CATEGORY_NAME


def unit_of(value: object) -> UnitRecord | None:
    unit_id = ref_id(value)
    if unit_id is None:
        return None
    unit = embedded(value)
    return UnitRecord(sevdesk_id=unit_id, name=text(unit.get("name")) if unit else None)


def map_article(row: Row) -> ArticleRecord:
    net = exact(row.get("priceNet"))
    return ArticleRecord(
        name=text(row.get("name")),
        number=text(row.get("partNumber")),
        unit=unit_of(row.get("unity")),
        net_price=net if net is not None else exact(row.get("price")),
        gross_price=exact(row.get("priceGross")),
        tax_rate=exact(row.get("taxRate")),
        description=text(row.get("text")),
        active=integer(row.get("status")) != INACTIVE,
    )
