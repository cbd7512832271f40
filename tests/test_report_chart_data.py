"""The charts' inline data is cut to the columns their specifications name (charts.prune_data):
every field a chart encodes is still in its data, and the chart draws the very same SVG."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import pytest
import vl_convert

from pipelines.report import charts

pytestmark = pytest.mark.fast

MONTHS = [date(2024, m, 1) for m in range(1, 13)]


def control() -> pd.DataFrame:
    return pd.DataFrame({
        "kpi": "nrr", "period_start": MONTHS, "value": [1.0 + i / 100 for i in range(12)],
        "centre": 1.05, "unpl": 1.12, "lnpl": 0.98, "beyond_limits": [False] * 11 + [True],
        "run_of_8": [False] * 10 + [True, False], "two_of_three_beyond_2sigma": False,
        "four_of_five_beyond_1sigma": False})


def books() -> pd.DataFrame:
    return pd.DataFrame({
        "csm_id": [f"c{i}@example.com" for i in range(8)],
        "csm_name": [f"CSM number {i}" for i in range(8)],
        "accounts_managed": [10, 12, 12, 30, 5, 18, 18, 22],
        "arr_managed": [1.2e6, 1.5e6, 1.5e6, 3.0e6, 0.4e6, 2.2e6, 2.21e6, 1.9e6],
        "arr_band": ["within", "within", "within", "above", "below", "above", "above", "within"],
        "accounts_band": ["within", "within", "within", "above", "below", "above", "above",
                          "above"]})


def hours() -> pd.DataFrame:
    rows = [{"csm_id": f"c{i}", "csm_name": f"CSM {i}", "activity": a, "hours": 10.0 + i + j,
             "share": 0.1} for i in range(4)
            for j, a in enumerate(["onboarding", "support", "internal"])]
    return pd.DataFrame(rows)


def retention() -> pd.DataFrame:
    return pd.DataFrame({
        "period_start": MONTHS, "nrr": [1.0 + i / 200 for i in range(12)],
        "grr": [0.95 - i / 400 for i in range(12)], "starting_arr": 1e6, "total_arr": 1.1e6,
        "new_arr": 5e4, "reactivation_arr": 1e3, "expansion_arr": 2e4, "contraction_arr": 1e4,
        "churned_arr": 3e4})


def every_chart() -> dict[str, alt.TopLevelMixin]:
    reasons = pd.DataFrame({"reason": ["price", "product", "unknown"], "accounts": [3, 2, 1],
                            "arr": [5e4, 3e4, 1e4], "cumulative_share": [0.56, 0.89, 1.0]})
    renewals = pd.DataFrame({"days": [90] * 4 + [180] * 4,
                             "risk_band": ["high", "medium", "low", "unknown"] * 2,
                             "accounts": [1, 2, 3, 0, 2, 3, 5, 1],
                             "arr_lapsing": [1e4, 2e4, 3e4, 0.0, 2e4, 3e4, 6e4, 5e3]})
    return {
        "control": charts.control_chart(control(), "Net revenue retention", "percent"),
        "books": charts.book_chart(books(), (1e6, 2e6), (10, 15), 1.8e6, 14),
        "hours": charts.hours_chart(hours()),
        "retention": charts.retention_chart(retention()),
        "waterfall": charts.waterfall_chart(charts.waterfall_frame(retention())),
        "pareto": charts.pareto_chart(reasons),
        "renewals": charts.renewals_chart(renewals),
    }


def fields(node: object, out: set[str]) -> set[str]:
    """Every `field` a specification names (encodings, sorts, windows)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                out.add(value)
            else:
                fields(value, out)
    elif isinstance(node, list):
        for value in node:
            fields(value, out)
    return out


def drawn(chart: alt.TopLevelMixin) -> dict:
    spec = chart.to_dict(validate=True)
    spec.setdefault("config", {})["font"] = charts.FONT
    spec["config"].setdefault("view", {})["stroke"] = None
    return spec


@pytest.mark.parametrize("name", list(every_chart()))
def test_each_chart_keeps_every_field_it_encodes_and_draws_the_same(name: str) -> None:
    chart = every_chart()[name]
    whole = drawn(chart)
    cut = charts.spec_of(chart)
    columns = {c for rows in cut["datasets"].values() for row in rows for c in row}
    made = {"rank", ""}  # the control chart's window (rank, over no field) makes it
    assert fields(cut, set()) - made <= columns
    assert {c for rows in whole["datasets"].values() for row in rows for c in row} > columns
    assert vl_convert.vegalite_to_svg(cut) == vl_convert.vegalite_to_svg(whole)


def test_the_book_chart_carries_no_column_it_does_not_draw() -> None:
    cut = charts.spec_of(every_chart()["books"])
    columns = {c for rows in cut["datasets"].values() for row in rows for c in row}
    assert not columns & {"csm_id", "csm_name", "arr_band", "accounts_band"}
    assert {"label", "label_x", "label_y", "accounts_managed", "arr_managed"} <= columns
