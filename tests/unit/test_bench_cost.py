"""The bench's cost per 1M invoices computes what docs/benchmarks.md says it computes."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

from benchmarks.cost import PRICES, PerInvoice, cost_per_million, formula

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
NOTHING = PerInvoice(**{f.name: 0.0 for f in fields(PerInvoice)})


def test_each_unit_costs_its_price_per_million_invoices() -> None:
    # 1M invoices x 2 write units x $0.7625 per 1M units = $1.525
    assert cost_per_million(replace(NOTHING, dynamodb_write_units=2))["total"] == pytest.approx(1.525)
    # 0.25 GB (256 MB) x 0.4 s = 0.1 GB-s per invoice -> 100 000 GB-s x $0.0000133334 = $1.33334
    assert cost_per_million(replace(NOTHING, lambda_gb_seconds=0.1))["total"] == pytest.approx(1.33334)
    # events posted 100 per request: 10 000 REST API requests x $3.70 per 1M = $0.037
    assert cost_per_million(replace(NOTHING, api_gateway_requests=0.01))["total"] == pytest.approx(0.037)


def test_the_total_is_the_sum_of_the_lines() -> None:
    measured = PerInvoice(6, 3, 0.2, 1.02, 3, 0.1, 0.01, 0.001, 0.05)
    lines = cost_per_million(measured)
    assert lines["total"] == pytest.approx(sum(v for k, v in lines.items() if k != "total"))
    assert lines["total"] == pytest.approx(
        6 * 0.7625 + 3 * 0.1525 + 0.2 * 13.3334 + 1.02 * 0.2 + 3 * 0.5 + 0.1 * 0.4 + 0.01 * 3.7 + 0.001 * 3 + 0.05 * 1
    )


def test_the_formula_names_every_price_and_the_docs_show_it() -> None:
    text = formula()
    for f in fields(PRICES):
        assert f"${getattr(PRICES, f.name):g}" in text
    assert text in (ROOT / "docs/benchmarks.md").read_text(encoding="utf-8"), "run make bench (or bench-quick)"
