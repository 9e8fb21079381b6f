"""M3: sevDesk order confirmations (orderType AB) → OrderConfirmationRecord (pure functions).

Input: an Order row as `GET /Order?orderType=AB&embed=contact` answers it and its positions from
`GET /Order/{id}/getPositions?embed=unity,part`. Imported once sent (status 200 and later; drafts are
not the customer's yet); a later status (accepted, invoiced, rejected) comes back as an update. The
customer and the articles carry the platform's ids where sevbridge knows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sevbridge.domain.pull.map_articles import unit_of
from sevbridge.domain.pull.map_contacts import display_name
from sevbridge.domain.pull.records import ArticleRef, CustomerRef, OrderConfirmationRecord, OrderPosition, OrderStatus
from sevbridge.domain.pull.wire import Row, amount, day, embedded, exact, flag, integer, ref_id, text

CONFIRMATION = "AB"
DRAFT = 100
STATUS_NAMES: dict[int, OrderStatus] = {
    200: "sent",
    300: "rejected",
    500: "accepted",
    750: "partially_invoiced",
    1000: "invoiced",
}

SourceIdOf = Callable[[str], str | None]


def is_order_confirmation(row: Row) -> bool:
    """An AB that was sent (the orderType filter is tag-text only: checked here, too)."""
    status = integer(row.get("status"))
    return (text(row.get("orderType")) or "").upper() == CONFIRMATION and status is not None and status > DRAFT


def customer_ref(value: object, source_id_of: SourceIdOf) -> CustomerRef | None:
    contact_id = ref_id(value)
    if contact_id is None:
        return None
    contact = embedded(value)
    return CustomerRef(
        sevdesk_id=contact_id,
        source_id=source_id_of(contact_id),
        name=display_name(contact) if contact else None,
        customer_number=text(contact.get("customerNumber")) if contact else None,
    )


def map_position(row: Row, article_source_id_of: SourceIdOf) -> OrderPosition:
    part_id = ref_id(row.get("part"))
    part = embedded(row.get("part"))
    net = exact(row.get("priceNet"))
    return OrderPosition(
        name=text(row.get("name")),
        text=text(row.get("text")),
        quantity=exact(row.get("quantity")),
        unit=unit_of(row.get("unity")),
        unit_price=net if net is not None else exact(row.get("price")),
        tax_rate=exact(row.get("taxRate")),
        discount=exact(row.get("discount")) or None,
        optional=flag(row.get("optional")),
        article=(
            ArticleRef(
                sevdesk_id=part_id,
                source_id=article_source_id_of(part_id),
                number=text(part.get("partNumber")) if part else None,
            )
            if part_id
            else None
        ),
    )


def _position_order(row: Row) -> tuple[int, int]:
    row_id = ref_id(row.get("id")) or ""
    return (integer(row.get("positionNumber")) or 0, int(row_id) if row_id.isdigit() else 0)


def map_order(
    row: Row,
    positions: Sequence[Row],
    *,
    customer_source_id_of: SourceIdOf,
    article_source_id_of: SourceIdOf,
) -> OrderConfirmationRecord:
    status = integer(row.get("status"))
    return OrderConfirmationRecord(
        number=text(row.get("orderNumber")),
        order_date=day(row.get("orderDate")),
        status=STATUS_NAMES.get(status, "other") if status is not None else "other",
        sevdesk_status=status,
        header=text(row.get("header")),
        customer=customer_ref(row.get("contact"), customer_source_id_of),
        address=text(row.get("address")),
        currency=text(row.get("currency")),
        net_amount=amount(row.get("sumNet")),
        tax_amount=amount(row.get("sumTax")),
        gross_amount=amount(row.get("sumGross")),
        positions=[map_position(p, article_source_id_of) for p in sorted(positions, key=_position_order)],
    )
