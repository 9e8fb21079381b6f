"""Sums of invoices/orders. `price` is net per unit when the document's showNet is on, gross
otherwise (InvoicePos tag text); tax is computed per rate over the net (or gross) subtotal."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from ..wire import money

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    optional: bool = False  # optional order positions are left out of the sums


@dataclass(frozen=True)
class LineAmounts:
    price_net: Decimal
    price_tax: Decimal
    price_gross: Decimal
    sum_net: Decimal
    sum_tax: Decimal
    sum_gross: Decimal
    sum_discount: Decimal


@dataclass(frozen=True)
class Totals:
    sum_net: Decimal
    sum_tax: Decimal
    sum_gross: Decimal
    lines: list[LineAmounts]


def line_amounts(line: Line, show_net: bool) -> LineAmounts:
    factor = 1 + line.tax_rate / HUNDRED
    full = line.quantity * line.price
    discount = money(full * line.discount_percent / HUNDRED)
    if show_net:
        price_net, price_gross = line.price, money(line.price * factor)
        sum_net = money(full) - discount
        sum_tax = money(sum_net * line.tax_rate / HUNDRED)
        sum_gross = sum_net + sum_tax
    else:
        price_net, price_gross = money(line.price / factor), line.price
        sum_gross = money(full) - discount
        sum_net = money(sum_gross / factor)
        sum_tax = sum_gross - sum_net
    return LineAmounts(
        price_net=price_net,
        price_tax=price_gross - price_net,
        price_gross=price_gross,
        sum_net=sum_net,
        sum_tax=sum_tax,
        sum_gross=sum_gross,
        sum_discount=discount,
    )


def calculate(lines: list[Line], show_net: bool) -> Totals:
    amounts = [line_amounts(line, show_net) for line in lines]
    per_rate: dict[Decimal, list[LineAmounts]] = defaultdict(list)
    for line, amount in zip(lines, amounts, strict=True):
        if not line.optional:
            per_rate[line.tax_rate].append(amount)
    sum_net = sum_tax = Decimal(0)
    for rate, group in per_rate.items():
        if show_net:
            net = sum((a.sum_net for a in group), Decimal(0))
            tax = money(net * rate / HUNDRED)
        else:
            gross = sum((a.sum_gross for a in group), Decimal(0))
            net = money(gross / (1 + rate / HUNDRED))
            tax = gross - net
        sum_net += net
        sum_tax += tax
    return Totals(sum_net=sum_net, sum_tax=sum_tax, sum_gross=sum_net + sum_tax, lines=amounts)
