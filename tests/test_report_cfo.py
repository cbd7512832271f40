"""The report's CFO page and the pages after it: figures parsed from the page against the marts.

The tiny company's report (the asset's, shared `tiny_built`, read only) is compared with its
trailing-twelve-month rows read here; the outlook marts of docs/metrics.md (renewals, account
risk, CSM outlook) are hand-made tables with answers known. Chromium lays the pages out to check
that no labels overlap and that the render check sees the whole page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipelines.report import build_report, render
from pipelines.report.render import check_render, text_boxes
from pipelines.settings import Settings
from tests.conftest import read_rows
from tests.test_report import MAR, STEERING, HandMade, Page, built, page, parse, published

__all__ = ["built", "page"]  # fixtures shared with test_report.py

OUTLOOK = """
create or replace table marts.renewals as select * from (values
    ('sf:A', 'Acme', 'enterprise', 'alice@example.com', date '2025-04-20', 20, 30000.0, 30000.0,
     0.40, 'high'),
    ('sf:B', 'Beta', 'smb', 'bob@example.com', date '2025-05-30', 60, 5000.0, 8000.0, 0.05, 'low'),
    ('sf:C', 'Cora', 'smb', 'alice@example.com', date '2025-08-01', 123, 12000.0, 12000.0,
     0.20, 'medium'),
    ('sf:D', 'Dell', 'smb', 'bob@example.com', date '2025-09-10', 163, 7000.0, 7000.0, null,
     'unknown'),
    ('sf:E', 'Echo', 'smb', 'bob@example.com', date '2025-12-01', 245, 9000.0, 9000.0, 0.1,
     'low'))
    t(account_id, account_name, segment, csm_id, renewal_date, days_to_renewal, arr_lapsing,
      arr_now, churn_probability, risk_band);
create or replace table marts.account_risk as select * from (values
    ('sf:A', 'Acme', 'alice@example.com', 'enterprise', 30000.0, 0.40, 'high',
     timestamptz '2025-03-20 10:00:00+00', date '2025-04-20'),
    ('sf:F', 'Fox', 'bob@example.com', 'enterprise', 90000.0, 0.30, 'high', null, null),
    ('sf:C', 'Cora', 'alice@example.com', 'smb', 12000.0, 0.20, 'medium', null,
     date '2025-08-01'),
    ('sf:B', 'Beta', 'bob@example.com', 'smb', 8000.0, 0.05, 'low', null, date '2025-05-30'))
    t(account_id, account_name, csm_id, segment, arr_now, churn_probability, risk_band,
      last_touch_at, next_renewal_date);
create or replace table marts.csm_outlook as select * from (values
    ('alice@example.com', 2, 42000.0, 30000.0, 42000.0, 1, 1, 30000.0, 1.0, 0),
    ('bob@example.com', 3, 107000.0, 5000.0, 12000.0, 1, 1, 90000.0, 0.0, 1),
    ('team', 5, 149000.0, 35000.0, 54000.0, 2, 2, 120000.0, 0.5, 1))
    t(csm_id, accounts_managed, arr_managed, arr_renewing_90d, arr_renewing_180d,
      accounts_renewing_90d, high_risk_accounts, high_risk_arr, high_risk_touched_30d,
      renewing_90d_untouched_30d);
alter table marts.csm_outlook add column as_of timestamptz
    default timestamptz '2025-04-02 00:00:00+00';
"""


def tile(page: Page, metric: str) -> dict[str, str]:
    found = page.find("div", "cfo", data_metric=metric)
    assert len(found) == 1, metric
    return found[0].attrs


def value(attrs: dict[str, str], name: str = "data-value") -> float | None:
    return float(attrs[name]) if attrs[name] else None


def test_the_report_opens_with_the_cfo_page_whose_figures_equal_the_marts(
        built: tuple[Path, Path, Settings], page: Page) -> None:
    sections = [e.attrs["id"] for e in page.find("section")]
    assert sections[:3] == ["cfo", "outlook", "at-risk"]
    ttm = {r["period_end"]: r for r in read_rows(published(built), """
        select * from marts.team_period_metrics where period_grain = 'ttm'""")}
    now, before = ttm[date(2025, 4, 1)], ttm[date(2025, 3, 1)]
    assert date(2024, 4, 1) not in ttm  # no twelve months ending a year before in the tiny data
    nrr = tile(page, "ttm_nrr")
    assert value(nrr) == float(now["nrr"]) and value(nrr, "data-previous") == float(before["nrr"])
    assert nrr["data-year-before"] == "" and nrr["data-period-start"] == "2024-04-01"
    assert value(tile(page, "ttm_grr")) == float(now["grr"])
    # The period is on the label: "NRR 60.3%" alone reads as a month.
    assert f"NRR, trailing 12 months (Apr 2024 to Mar 2025){float(now['nrr']):.1%}" in \
        page.text["cfo"]
    cost = float(now["fully_loaded_cost"]) / float(now["total_arr"])
    assert value(tile(page, "cost_to_serve_ratio")) == pytest.approx(cost, rel=1e-12)
    # The bridge: seven bars, start + gains - losses = end (the tiny company's by hand:
    # 146,000 + 274,000 + 0 + 12,000 - 10,000 - 60,000 = 362,000).
    bridge = dict(kv.split("=") for e in page.find("div", "cfo") if "data-bridge" in e.attrs
                  for kv in e.attrs["data-bridge"].split(","))
    assert {k: float(v) for k, v in bridge.items()} == {
        k: float(now[k]) for k in ["starting_arr", "new_arr", "reactivation_arr", "expansion_arr",
                                   "contraction_arr", "churned_arr", "total_arr"]}
    assert float(now["total_arr"]) == 146000 + 274000 + 0 + 12000 - 10000 - 60000
    assert len(page.find("figure", "cfo", data_chart="bridge")) == 1
    plan = read_rows(published(built), "select * from marts.capacity_plan where period_grain = "
                     "'month' and period_start = $m and segment = 'all'", {"m": MAR})[0]
    assert value(tile(page, "fte_headroom")) == pytest.approx(float(plan["fte_headroom"]))
    # Missing data named: the unknown loss reasons of the 12 months, and the field to fill.
    unknown = read_rows(published(built), """
        select sum(accounts) as accounts, sum(arr) as arr from marts.churn_reasons
        where period_grain = 'month' and reason = 'unknown'""")[0]
    missing = page.find("p", "cfo", data_missing="churn_reason")[0].attrs
    assert int(missing["data-accounts"]) == unknown["accounts"] == 1
    assert float(missing["data-arr"]) == float(unknown["arr"])
    assert "Loss_Reason__c" in page.text["cfo"] and "closed_lost_reason" in page.text["cfo"]
    # No target in the tiny settings: the books are compared with the benchmark bands.
    assert "no target set (setting target_nrr)" in page.text["cfo"]
    assert "below the benchmark band" in page.text["cfo"]
    # The outlook marts are not in the tiny warehouse yet: said, not drawn.
    for table, section in [("renewals", "cfo"), ("csm_outlook", "outlook"),
                           ("account_risk", "at-risk")]:
        if not read_rows(published(built), "select count(*) as n from duckdb_tables() where "
                         "schema_name = 'marts' and table_name = $t", {"t": table})[0]["n"]:
            assert f"marts.{table} is not in this warehouse yet" in page.text[section]


def test_outlook_risk_renewals_and_targets_from_hand_made_marts(
        built: tuple[Path, Path, Settings]) -> None:
    settings = built[2].model_copy(update={
        "target_nrr": 1.05, "target_grr": 0.5, "target_arr_per_csm": 100_000.0,
        "target_customers_per_csm": 5.0, "target_cost_to_serve": 0.08})
    with HandMade(built) as conn:
        conn.execute(STEERING + OUTLOOK)
        conn.execute("alter table marts.team_period_metrics add column if not exists "
                     "cost_to_serve_ratio double")
        conn.execute("update marts.team_period_metrics set cost_to_serve_ratio = 0.125")
        html, _ = build_report(conn, settings, MAR)
    page = parse(html)
    # Renewals by risk band: 90 days = A (high, 30,000) and B (low, 5,000); 180 adds C and D.
    cells, band = {}, None
    for e in page.elements:
        if e.tag == "tr":
            band = e.attrs.get("data-band")
        elif e.tag == "td" and band and "data-days" in e.attrs:
            cells[(e.attrs["data-days"], band)] = (int(e.attrs["data-accounts"]),
                                                   float(e.attrs["data-arr"]))
    assert cells[("90", "high")] == (1, 30000.0) and cells[("90", "low")] == (1, 5000.0)
    assert cells[("90", "all")] == (2, 35000.0)
    assert cells[("180", "medium")] == (1, 12000.0) and cells[("180", "unknown")] == (1, 7000.0)
    assert cells[("180", "all")] == (4, 54000.0)  # Echo, 245 days out, is in neither
    assert len(page.find("figure", "cfo", data_chart="renewals")) == 1
    # Targets compared in words and drawn as lines.
    cfo = page.text["cfo"]
    assert "below the target of 105%" in cfo and "meets the target of 50%" in cfo
    assert value(tile(page, "cost_to_serve_ratio")) == 0.125  # the mart's own column
    assert "above the target of 8.0%" in cfo
    assert "NRR target 105%" in cfo and "target ARR per CSM 100.0k" in page.text["books"]
    # Plain-language flags, no rule names on the CFO page.
    flags = {e.attrs["data-kpi"]: e.attrs["data-flag"] for e in page.find("li", "cfo")
             if "data-flag" in e.attrs}
    assert flags == {"nrr": "outside its usual range (high)"}
    for rule in ["beyond limits", "beyond_limits", "run of 8", "run_of_8", "sigma", "2sigma"]:
        assert rule not in cfo, rule
    # Each CSM's outlook, most high-risk ARR first, the team last.
    rows = [e.attrs for e in page.find("tr", "outlook") if "data-csm" in e.attrs]
    assert [r["data-csm"] for r in rows] == ["bob@example.com", "alice@example.com", "team"]
    assert float(rows[0]["data-high-risk-arr"]) == 90000.0
    assert rows[0]["data-renewing-90d-untouched-30d"] == "1"
    # The at-risk list: high first by ARR x probability (Fox 27,000 > Acme 12,000), then medium;
    # low is not listed; association, not cause.
    risk = [e.attrs["data-account"] for e in page.find("tr", "at-risk")
            if "data-account" in e.attrs]
    assert risk == ["sf:F", "sf:A", "sf:C"]
    assert "Association, not cause" in page.text["at-risk"]


def test_run_signals_on_growing_books_read_as_trends(built: tuple[Path, Path, Settings]) -> None:
    with HandMade(built) as conn:
        conn.execute(STEERING)
        conn.execute("""
            alter table marts.kpi_control alter value type double;
            alter table marts.kpi_control alter centre type double;
            alter table marts.kpi_control alter mr_bar type double;
            alter table marts.kpi_control alter unpl type double;
            alter table marts.kpi_control alter lnpl type double;
            insert into marts.kpi_control by name
            select 'revenue_efficiency' as kpi, 'team' as scope, date '2025-03-01' as period_start,
                   120000.0 as value, 100000.0 as centre, 1000.0 as mr_bar, 102660.0 as unpl,
                   97340.0 as lnpl, false as beyond_limits, true as run_of_8,
                   false as two_of_three_beyond_2sigma, false as four_of_five_beyond_1sigma""")
        html, _ = build_report(conn, built[2], MAR)
    page = parse(html)
    flags = {e.attrs["data-kpi"]: e.attrs["data-flag"] for e in page.find("li", "cfo")
             if "data-flag" in e.attrs}
    assert flags["revenue_efficiency"] == "trending up (expected: books grow by design)"
    row = page.find("tr", "scorecard", data_kpi="revenue_efficiency")[0]
    assert row.attrs["data-signals"] == "run of 8"  # the rule's name stays for analysts
    assert "trending up" in page.text["scorecard"]


def overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if not (a["right"] <= b["left"] or b["right"] <= a["left"]
                    or a["bottom"] <= b["top"] or b["bottom"] <= a["top"])]


def test_book_labels_never_overlap(built: tuple[Path, Path, Settings], tmp_path: Path) -> None:
    """Two CSMs with the same book (same point) and one near the axis: every text chromium lays
    out in the chart (labels, axes, legends) is clear of every other."""
    with HandMade(built) as conn:
        conn.execute("""
            update marts.csm_period_metrics set accounts_managed = 3, arr_managed = 120000
            where csm_id in ('alice@example.com', 'bob@example.com')
              and period_grain = 'month' and period_start = date '2025-03-01'""")
        html, _ = build_report(conn, built[2], MAR)
    out = tmp_path / "report.html"
    out.write_text(html, encoding="utf-8")
    boxes = text_boxes(out, 'figure[data-chart="books"] svg text')
    names = [b["text"] for b in boxes]
    assert any(n.startswith("Alice Adams") for n in names)
    assert any(n.startswith("Bob Brown") for n in names)
    assert overlaps(boxes) == []


def test_the_render_check_sees_the_whole_page(built: tuple[Path, Path, Settings],
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    problem, summary = check_render(built[1], tmp_path / "report.png")
    assert problem is None, summary
    width, height = (int(v) for v in summary.split(" ")[0].split("x"))
    assert width == 1280 and height > 4000  # the old check stopped at 4,000 px
    # A blank page and a cut one fail.
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert "blank" in (check_render(blank, tmp_path / "blank.png")[0] or "")
    monkeypatch.setattr(render, "MAX_HEIGHT", 2000)
    assert "cut" in (check_render(built[1], tmp_path / "cut.png")[0] or "")


def test_the_cfo_page_without_any_ttm_rows_says_so(built: tuple[Path, Path, Settings]) -> None:
    with HandMade(built) as conn:
        conn.execute("delete from marts.team_period_metrics where period_grain = 'ttm'")
        html, _ = build_report(conn, built[2], MAR)
    page = parse(html)
    assert "no trailing-twelve-month (ttm) rows yet" in page.text["cfo"]
    assert not page.find("figure", "cfo", data_chart="bridge")
