"""The CS leader's report: built by its Dagster asset for the tiny company, then parsed.

The page's numbers are compared with the marts read independently here; the sections whose marts
other work adds (kpi_control, capacity_plan, churn_reasons, retention_drivers) are also built
from small hand-made tables of the steering marts, answers known. A real headless chromium
renders the page to a PNG that must not be blank.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd
import pytest

from pipelines.report import build_report, charts, write_report
from pipelines.report.data import TEAM_COLUMN
from pipelines.report.page import SECTIONS, kpi_format
from pipelines.report.render import page_size, pixel_values, screenshot
from pipelines.settings import Settings, load_settings
from tests.conftest import TinyBuild, read_rows
from warehouse.publishing import ForeignFile

MAR = date(2025, 3, 1)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    section: str | None


class Page(HTMLParser):
    """Every element with its attributes and the section it sits in, and each section's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: dict[str, str] = {}
        self._section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section":
            self._section = values.get("id")
        self.elements.append(Element(tag, values, self._section))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, self._section))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        key = self._section or ""
        self.text[key] = self.text.get(key, "") + data

    def find(self, tag: str, section: str | None = None, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag
                and (section is None or e.section == section)
                and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def built(tiny_built: TinyBuild) -> tuple[Path, Path, Settings]:
    """The tiny company through both jobs; the report asset writes beside the published copy."""
    folder = tiny_built.folder
    return folder / "published", folder / "published" / "report.html", load_settings(
        folder / "settings.toml")


@pytest.fixture(scope="module")
def page(built: tuple[Path, Path, Settings]) -> Page:
    return parse(built[1].read_text(encoding="utf-8"))


def published(built: tuple[Path, Path, Settings]) -> Path:
    return (built[0] / "csm_metrics.duckdb").resolve()


def test_the_asset_writes_every_section_for_the_latest_complete_month(page: Page) -> None:
    ids = [e.attrs["id"] for e in page.find("section")]
    assert ids == [key for key, _ in SECTIONS]
    footer = page.find("footer")[0]
    assert footer.attrs["data-period"] == MAR.isoformat()
    assert "Customer Success report: March 2025" in page.text[""]


def test_scorecard_numbers_equal_the_marts(built: tuple[Path, Path, Settings],
                                           page: Page) -> None:
    rows = read_rows(published(built), "select * from marts.team_period_metrics "
                     "where period_grain = 'month' and period_start = $m", {"m": MAR})
    team = rows[0]
    shown = {e.attrs["data-kpi"]: e.attrs["data-value"] for e in page.find("tr", "scorecard")
             if "data-kpi" in e.attrs}
    compared = 0
    for kpi, value in shown.items():
        column = TEAM_COLUMN.get(kpi)
        if column in team:
            expected = team[column]
            assert (float(value) if value else None) == (
                None if expected is None else float(expected)), kpi
            compared += 1
    # At least the retention and book KPIs every warehouse has.
    assert {"nrr", "grr", "logo_retention"} <= set(shown) and compared >= 5
    for kpi, value in shown.items():  # and the text a reader sees says the same
        assert kpi_format(kpi, float(value) if value else None, "USD") in page.text["scorecard"]
    control = read_rows(published(built), "select count(*) as n from duckdb_tables() "
                        "where schema_name = 'marts' and table_name = 'kpi_control'")[0]["n"]
    if control:  # the steering mart has arrived: the scorecard is its team rows
        kpis = read_rows(published(built), "select kpi, value from marts.kpi_control "
                         "where scope = 'team' and period_start = $m", {"m": MAR})
        assert {r["kpi"]: (None if r["value"] is None else float(r["value"])) for r in kpis} == {
            k: (float(v) if v else None) for k, v in shown.items()}


def test_books_and_hours_show_each_csms_numbers(built: tuple[Path, Path, Settings],
                                                page: Page) -> None:
    rows = read_rows(published(built), """
        select csm_id, accounts_managed, arr_managed from marts.csm_period_metrics
        where period_grain = 'month' and period_start = $m and csm_id <> 'unassigned'
          and accounts_managed > 0""", {"m": MAR})
    shown = {e.attrs["data-csm"]: (int(e.attrs["data-accounts"]), float(e.attrs["data-arr"]))
             for e in page.find("tr", "books") if "data-csm" in e.attrs}
    assert shown == {r["csm_id"]: (r["accounts_managed"], float(r["arr_managed"])) for r in rows}
    assert len(shown) >= 3  # alice, bob and carol at least
    for row in rows:
        assert f"{float(row['arr_managed']):,.0f}" in page.text["books"]
    # Each person's hours in the month are labelled at the end of their bar.
    hours = read_rows(published(built), """
        select csm_id, sum(hours) as hours from marts.csm_activity_hours
        where period_grain = 'month' and period_start = $m and hours > 0 group by csm_id""",
                      {"m": MAR})
    assert hours
    for row in hours:
        assert f"{row['hours']:,.1f} h" in page.text["hours"], row


def test_charts_are_inline_svg_and_nothing_points_off_the_page(page: Page) -> None:
    for section in ["books", "retention", "hours"]:
        figures = page.find("figure", section)
        assert figures and all(f.attrs["data-chart"] for f in figures), section
        assert len(page.find("svg", section)) == len(figures), section
    linked = [(e.tag, name, value) for e in page.elements for name, value in e.attrs.items()
              if name in {"src", "href", "xlink:href", "action", "data"}
              and value.strip().lower().startswith(("http:", "https:", "//"))]
    assert linked == []
    assert not page.find("script") and not page.find("link") and not page.find("img")
    for section in ["books", "retention", "hours"]:
        assert "How to read it:" in page.text[section]


def test_every_chart_is_a_valid_vega_lite_specification(
        built: tuple[Path, Path, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    """A run draws without the schema check (charts.VALIDATE); the page drawn with it on is the
    same page, so every chart of a run is one the schema accepts."""
    settings = built[2]
    with duckdb.connect(str(published(built)), read_only=True) as conn:
        fast, _ = build_report(conn, settings, MAR)
        monkeypatch.setattr(charts, "VALIDATE", True)
        checked, _ = build_report(conn, settings, MAR)
    assert len(parse(checked).find("svg")) == len(parse(fast).find("svg")) > 5
    # The check is real: a specification the schema refuses raises when it is on.
    wrong = alt.Chart(pd.DataFrame({"a": [1]})).mark_point().encode(x="a:Q")
    wrong.width = "wide"  # an attribute is not checked when set, only when drawn
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        charts.svg(wrong)


def test_missing_or_empty_marts_are_said_not_drawn(page: Page) -> None:
    # Whatever of the steering marts this warehouse lacks or leaves empty, its section says so
    # in words and draws nothing.
    for section in ["capacity", "churn-reasons", "drivers"]:
        if not page.find("figure", section):
            assert page.find("p", section) and not page.find("svg", section), section


def test_footer_names_the_run_and_load_time(built: tuple[Path, Path, Settings],
                                            page: Page) -> None:
    lineage = read_rows(published(built), """
        select list(distinct run_id order by run_id) as runs, max(loaded_at) as loaded_at
        from marts.team_period_metrics where period_grain = 'month' and period_start = $m""",
                        {"m": MAR})[0]
    footer = page.find("footer")[0]
    assert footer.attrs["data-run-ids"].split(",") == lineage["runs"]
    assert footer.attrs["data-loaded-at"] == lineage["loaded_at"].isoformat(timespec="seconds")


def test_an_open_month_is_not_the_latest_complete_month(built: tuple[Path, Path, Settings]
                                                        ) -> None:
    """A month built before it ended (the open month a daily run refreshes) is not reported."""
    with HandMade(built) as conn:
        conn.execute("""
            insert into marts.team_period_metrics by name
            select * replace (date '2025-04-01' as period_start, date '2025-05-01' as period_end,
                              'open' as period_status,
                              timestamptz '2025-04-20 00:00:00+00' as loaded_at)
            from marts.team_period_metrics
            where period_grain = 'month' and period_start = date '2025-03-01'""")
        _, month = build_report(conn, built[2])
    assert month == MAR


class HandMade:
    """An in-memory marts database: the tiny company's marts, plus hand-made tables."""

    def __init__(self, built: tuple[Path, Path, Settings]) -> None:
        self.source = published(built)

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.conn = duckdb.connect(":memory:")
        self.conn.execute(f"attach '{self.source}' as tiny (read_only)")
        self.conn.execute("create schema marts")
        for (table,) in self.conn.execute(
                "select table_name from duckdb_tables() where database_name = 'tiny' "
                "and schema_name = 'marts'").fetchall():
            self.conn.execute(f"create table marts.{table} as select * from tiny.marts.{table}")
        self.conn.execute("detach tiny")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


STEERING = """
create or replace table marts.capacity_plan as select * from (values
    ('month', date '2025-03-01', date '2025-04-01', 'enterprise', 2, 30.0, 15.0,
     null::double, null::double, null::double, null::double, null::double),
    ('month', date '2025-03-01', date '2025-04-01', 'smb', 3, 10.0, 10.0 / 3,
     null, null, null, null, null),
    ('month', date '2025-03-01', date '2025-04-01', 'all', 5, 40.0, 8.0,
     336.0, 2.5, 0.625, 1.875, 0.75))
    t(period_grain, period_start, period_end, segment, customers, account_hours,
      hours_per_customer, capacity_hours, fte_available, fte_needed, fte_headroom,
      fte_needed_planned);
create or replace table marts.kpi_control as
select kpi, 'team' as scope, period_start, value, centre, mr_bar,
       centre + 2.66 * mr_bar as unpl, centre - 2.66 * mr_bar as lnpl,
       beyond_limits, false as run_of_8, false as two_of_three_beyond_2sigma,
       false as four_of_five_beyond_1sigma
from (values
    ('nrr', date '2025-01-01', 0.93, 0.97, 0.01, false),
    ('nrr', date '2025-02-01', 0.95, 0.97, 0.01, false),
    ('nrr', date '2025-03-01', 1.0, 0.97, 0.01, true),
    ('csm_ratio', date '2025-03-01', 1.6666666666666667, null, null, null))
    t(kpi, period_start, value, centre, mr_bar, beyond_limits);
create or replace table marts.churn_reasons as select * from (values
    ('month', date '2025-02-01', date '2025-03-01', 'churn', 'price', 1, 24000.0, 1.0, 1.0, 1),
    ('month', date '2025-01-01', date '2025-02-01', 'contraction', 'budget', 1, 10000.0,
     1.0, 1.0, 1),
    ('month', date '2025-03-01', date '2025-04-01', 'churn', 'unknown', 1, 6000.0, 1.0, 1.0, 1))
    t(period_grain, period_start, period_end, movement, reason, accounts, arr,
      share_of_accounts, share_of_arr, rank_by_arr);
create or replace table marts.retention_drivers as select * from (values
    ('touchpoints', 400, -0.5, 0.1, 0.0001, exp(-0.5), 0.05, 0.2, '2024-Q1', '2025-Q1', null),
    ('nps_score', 400, 0.1, 0.2, 0.6, exp(0.1), 0.1, 0.1, '2024-Q1', '2025-Q1', null),
    ('owner_utilization', 400, null, null, null, null, null, null, '2024-Q1', '2025-Q1',
     'constant input'))
    t(input, n, coefficient, std_error, p_value, odds_ratio_per_sd, churn_rate_top_quartile,
      churn_rate_bottom_quartile, first_quarter, last_quarter, note);
"""


def test_steering_sections_from_hand_made_tables(built: tuple[Path, Path, Settings]) -> None:
    with HandMade(built) as conn:
        conn.execute(STEERING)
        html, month = build_report(conn, built[2])
    assert month == MAR
    page = parse(html)
    # Scorecard: kpi_control's team rows, its signal marked in words and the chart's shape.
    nrr = page.find("tr", "scorecard", data_kpi="nrr")[0]
    assert float(nrr.attrs["data-value"]) == 1.0 and nrr.attrs["data-signals"] == "beyond limits"
    assert float(nrr.attrs["data-unpl"]) == pytest.approx(0.97 + 0.0266)
    ratio = page.find("tr", "scorecard", data_kpi="csm_ratio")[0]
    assert ratio.attrs["data-unpl"] == "" and "no limits yet" in page.text["scorecard"]
    assert len(page.find("figure", "scorecard")) == 2
    # Capacity: the 'all' row's FTE, and needed split by segment 30:10 of the account hours.
    summary = page.find("p", "capacity")[0].attrs
    assert (float(summary["data-fte-available"]), float(summary["data-fte-needed"]),
            float(summary["data-fte-headroom"])) == (2.5, 0.625, 1.875)
    capacity = page.text["capacity"]
    assert "enterprise 0.47" in capacity and "0.62 FTE" in capacity  # 0.625 x 30 / 40; total
    assert "smb" in capacity and "smb 0.16" not in capacity  # too narrow: the legend names it
    assert "planned book 0.75" in capacity
    # Churn reasons: all three within 12 months, largest first, cumulative share labelled.
    churn = page.text["churn-reasons"]
    assert churn.index("price") < churn.index("budget") < churn.index("unknown")
    assert "24.0k" in churn and "60%" in churn and "85%" in churn and "100%" in churn
    # Drivers: odds ratio per sd with its 95% interval; the constant input's note; the caveat.
    drivers = page.text["drivers"]
    # exp(-0.5) = 0.607; exp(-0.5 -+ 1.96 x 0.1) = 0.499, 0.738.
    assert "0.61 [0.50-0.74]" in drivers
    assert "constant input" in drivers and "Association, not cause" in drivers
    assert len(page.find("svg", "drivers")) == 1


def test_empty_steering_tables_say_so(built: tuple[Path, Path, Settings]) -> None:
    with HandMade(built) as conn:
        conn.execute(STEERING)
        for table in ["capacity_plan", "churn_reasons", "retention_drivers"]:
            conn.execute(f"delete from marts.{table}")
        html, _ = build_report(conn, built[2])
    page = parse(html)
    assert "no rows" in page.text["capacity"]
    assert "No churn or contraction" in page.text["churn-reasons"]
    assert "has no rows" in page.text["drivers"]
    for section in ["capacity", "churn-reasons", "drivers"]:
        assert not page.find("svg", section), section


def test_the_page_renders_in_headless_chromium(built: tuple[Path, Path, Settings],
                                               tmp_path: Path) -> None:
    started = time.monotonic()
    png = screenshot(built[1], tmp_path / "report.png")
    seconds = time.monotonic() - started
    width, height, values = pixel_values(png)
    assert width == 1280 and height > 4000  # the whole page, measured first
    # A blank or failed page is one or two colours; text, charts and shading are hundreds.
    assert len(values) > 200, len(values)
    print(f"chromium render: {seconds:.1f}s")


def test_the_page_is_replaced_whole(built: tuple[Path, Path, Settings], tmp_path: Path) -> None:
    """Written aside and renamed over the old page: no half page, no staging file left."""
    out = tmp_path / "report.html"
    assert write_report(published(built), built[2], out) == MAR
    first = out.stat().st_ino
    assert write_report(published(built), built[2], out) == MAR
    assert out.stat().st_ino != first  # a new file renamed over the old one
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_foreign_report_html_is_never_overwritten(built: tuple[Path, Path, Settings],
                                                     tmp_path: Path) -> None:
    """A report.html this deployment did not write (no generator mark) stops the write, named."""
    out = tmp_path / "report.html"
    out.write_text("<html>someone else's page</html>")
    with pytest.raises(ForeignFile, match=re.escape(str(out))):
        write_report(published(built), built[2], out)
    assert out.read_text() == "<html>someone else's page</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    # A page of a version before the mark (its footer's words) is this deployment's own.
    out.write_text("<!DOCTYPE html>\n<html><body><footer>Period: March 2025. Built by csm-metrics"
                   " from marts.* (docs/report.md).</footer></body></html>\n")
    assert write_report(published(built), built[2], out) == MAR
    assert 'content="csm-metrics report"' in out.read_text(encoding="utf-8")


def test_a_long_unbroken_csm_name_keeps_the_page_width(built: tuple[Path, Path, Settings],
                                                       tmp_path: Path) -> None:
    """A 3,000-character name is cut on the page, whole in a title; chromium lays the page out
    no wider than its window."""
    long_name = "W" * 3000
    with HandMade(built) as conn:
        conn.execute("update marts.csm_period_metrics set csm_name = $n "
                     "where csm_id = 'alice@example.com'", {"n": long_name})
        html, _ = build_report(conn, built[2], MAR)
    page = parse(html)
    assert [e for e in page.elements if e.attrs.get("title") == long_name]
    assert long_name not in "".join(page.text.values())
    out = tmp_path / "report.html"
    out.write_text(html, encoding="utf-8")
    width, _height = page_size(out, width=1280)
    assert width <= 1280, width
