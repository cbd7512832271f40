"""The report page: one self-contained HTML file, charts as inline SVG, no network needed.

Every number shown is also in a `data-*` attribute with its exact value, so tests (and anyone
scripting against the page) compare it with the marts without parsing formatted text.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from html import escape
from typing import Any

import pandas as pd

from pipelines.report import charts
from pipelines.report.data import KPI_LABELS, SIGNALS, ReportData

# Marks a page this deployment's report wrote: `write_report` replaces no report.html without it.
GENERATOR = '<meta name="generator" content="csm-metrics report">'
PERCENT_KPIS = {"nrr", "grr", "logo_retention", "utilization", "touch_coverage"}
MONEY_KPIS = {"revenue_efficiency", "arr_managed"}
SECTIONS = [
    ("scorecard", "Team scorecard"),
    ("books", "Each CSM's book against the bands"),
    ("retention", "Retention and the ARR waterfall"),
    ("hours", "Where the hours go"),
    ("capacity", "Capacity plan"),
    ("churn-reasons", "Why customers churn or contract"),
    ("drivers", "Retention drivers"),
]
CSS = """
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1d232b; margin: 0;
       background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px; overflow-wrap: anywhere; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 34px 0 8px;
     border-bottom: 2px solid #d8dde3; padding-bottom: 4px; }
.sub { color: #566; margin: 0 0 18px; }
.how { font-size: 13px; color: #3c4650; margin: 6px 0 0; font-style: italic; }
.empty { background: #f4f6f8; padding: 12px 16px; border-left: 4px solid #9aa5b1; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e7eb; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td { white-space: nowrap; } td:last-child { white-space: normal; }
.signal { font-weight: bold; color: #a33b00; }
.grid { display: grid; grid-template-columns: repeat(2, 1fr); gap: 14px 24px; }
.note { background: #fff8e6; border-left: 4px solid #e69f00; padding: 8px 12px; font-size: 13px; }
footer { margin-top: 40px; font-size: 12px; color: #566; border-top: 1px solid #d8dde3;
         padding-top: 8px; }
svg { max-width: 100%; height: auto; }
"""


def kpi_format(kpi: str, value: Any, currency: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    value = float(value)
    if kpi in PERCENT_KPIS:
        return f"{value:.1%}"
    if kpi in MONEY_KPIS:
        return f"{currency} {value:,.0f}"
    if kpi == "nps":
        return f"{value:.1f}"
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"


def _exact(value: Any) -> str:
    """The exact value for a `data-value` attribute ('' for none)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


def _number(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):,.2f}"


def _name(text: object) -> str:
    """A CRM name for a table cell: cut to `charts.NAME_LIMIT` characters, the whole name in
    the title (shown on hover), so one unbroken long name cannot widen the page."""
    full = "" if text is None else str(text)
    cut = charts.short(full)
    if cut == full:
        return escape(full)
    return f'<span title="{escape(full)}">{escape(cut)}</span>'


def _empty(text: str) -> str:
    return f'<p class="empty">{escape(text)}</p>'


def _how(text: str) -> str:
    return f'<p class="how">How to read it: {escape(text)}</p>'


def _figure(name: str, svg: str, how: str) -> str:
    return f'<figure class="chart" data-chart="{escape(name)}">{svg}{_how(how)}</figure>'


def scorecard_section(data: ReportData) -> str:
    card = data.scorecard
    if card is None or card.empty:
        return _empty(f"No team KPIs for {data.month:%B %Y}.")
    rows = []
    for _, r in card.iterrows():
        kpi = r["kpi"]
        fired = [s.replace("_", " ") for s in SIGNALS if r.get(s) is True]
        limits = ("-" if pd.isna(r["lnpl"]) else
                  f"{kpi_format(kpi, r['lnpl'], data.currency)} to "
                  f"{kpi_format(kpi, r['unpl'], data.currency)}")
        signal = (f'<span class="signal">&#9650; {escape(", ".join(fired))}</span>' if fired
                  else ("none" if pd.notna(r["lnpl"]) else "no limits yet"))
        rows.append(
            f'<tr data-kpi="{escape(kpi)}" data-value="{_exact(r["value"])}" '
            f'data-centre="{_exact(r["centre"])}" data-unpl="{_exact(r["unpl"])}" '
            f'data-lnpl="{_exact(r["lnpl"])}" data-signals="{escape(",".join(fired))}">'
            f'<td>{escape(KPI_LABELS.get(kpi, kpi))}</td>'
            f'<td class="value">{kpi_format(kpi, r["value"], data.currency)}</td>'
            f'<td>{kpi_format(kpi, r["centre"], data.currency)}</td><td>{limits}</td>'
            f'<td>{signal}</td></tr>')
    table = ("<table><thead><tr><th>KPI</th><th>value</th><th>centre</th>"
             "<th>natural process limits</th><th>signals</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>")
    parts = [table]
    if data.control is None:
        parts.append(_empty(f"No control charts: {data.missing.get('control', '')}."))
    else:
        figures = []
        for kpi in card["kpi"]:
            series = data.control[data.control["kpi"] == kpi]
            if series["value"].notna().any():
                kind = ("percent" if kpi in PERCENT_KPIS else
                        "money" if kpi in MONEY_KPIS else "number")
                figures.append(_figure(
                    f"control-{kpi}", charts.svg(charts.control_chart(
                        series, KPI_LABELS.get(kpi, kpi), kind)),
                    "dots are months; solid line the centre, dashed the limits; a triangle is "
                    "beyond the limits, a square a run rule."))
        parts.append('<div class="grid">' + "".join(figures) + "</div>" + _how(
            "the centre is the mean, and the limits centre -+ 2.66 x the mean moving range, of "
            "the baseline months before each point; run rules are 8 in a row on one side, 2 of "
            "3 beyond 2 sigma, 4 of 5 beyond 1 sigma (sigma = mean moving range / 1.128). No "
            "centre or limits: fewer months than the baseline needs, so no signal can be "
            "told from noise yet."))
    return "".join(parts)


def books_section(data: ReportData) -> str:
    books = data.books
    if books is None or books.empty:
        return _empty(f"No CSM managed a customer in {data.month:%B %Y}.")
    low, high = data.arr_band
    a_low, a_high = data.accounts_band
    rows = "".join(
        f'<tr data-csm="{escape(r["csm_id"])}" data-arr="{_exact(r["arr_managed"])}" '
        f'data-accounts="{int(r["accounts_managed"])}"><td>{_name(r["csm_name"])}</td>'
        f'<td>{int(r["accounts_managed"])}</td><td>{r["arr_managed"]:,.0f}</td>'
        f'<td>{escape(r["accounts_band"])}</td><td>{escape(r["arr_band"])}</td></tr>'
        for _, r in books.iterrows())
    return (_figure("books", charts.svg(charts.book_chart(books, data.arr_band,
                                                          data.accounts_band)),
                    f"each point is a CSM at {data.month:%B %Y}'s end (ARR managed in "
                    f"brackets); the shaded areas are the benchmark bands, "
                    f"{charts.money(low)}-{charts.money(high)} ARR and {a_low:g}-{a_high:g} "
                    "accounts. A circle sits inside both bands, a diamond outside one.")
            + "<table><thead><tr><th>CSM</th><th>accounts</th><th>ARR managed</th>"
              "<th>accounts band</th><th>ARR band</th></tr></thead><tbody>"
            + rows + "</tbody></table>")


def retention_section(data: ReportData) -> str:
    frame = data.retention
    if frame is None or frame.empty:
        return _empty("No team months to show.")
    parts = []
    if frame[["nrr", "grr"]].notna().any().any():
        parts.append(_figure(
            "retention", charts.svg(charts.retention_chart(frame)),
            "net (solid, circles) and gross (dashed, squares) revenue retention of each "
            "month's starting book; 100% keeps every dollar; NRR above GRR is expansion."))
    else:
        parts.append(_empty("No month had a starting book, so no retention yet."))
    parts.append(_figure(
        "waterfall", charts.svg(charts.waterfall_chart(charts.waterfall_frame(frame))),
        "from the first month's starting ARR (grey), each month adds what it gained (new, "
        "reactivated, expanded; +) and takes what it lost (contracted, churned; -), ending at "
        "the report month's ARR (grey). The ARR axis starts above zero so that small months "
        "stay visible."))
    return "".join(parts)


def hours_section(data: ReportData) -> str:
    hours = data.hours
    if hours is None or hours.empty:
        return _empty(f"No hours tracked in {data.month:%B %Y}.")
    return _figure(
        "hours", charts.svg(charts.hours_chart(hours)),
        "one bar per person, split by activity (the two letters in each segment name it, "
        "with its hours); the total is at the bar's end.")


def capacity_section(data: ReportData) -> str:
    capacity = data.capacity
    if capacity is None:
        return _empty(f"No capacity plan: {data.missing.get('capacity', '')}.")
    frame = charts.capacity_frame(capacity) if not capacity.empty else pd.DataFrame()
    if frame.empty:
        return _empty(f"marts.capacity_plan has no rows for {data.month:%B %Y}.")
    total = capacity[capacity["segment"] == "all"].iloc[0]
    rows = "".join(
        f'<tr data-segment="{escape(str(r["segment"]))}" data-customers="{int(r["customers"])}">'
        f'<td>{escape(str(r["segment"]))}</td><td>{int(r["customers"])}</td>'
        f'<td>{r["account_hours"]:,.1f}</td>'
        f'<td>{_number(r["hours_per_customer"])}</td></tr>' for _, r in capacity.iterrows())
    headroom = total["fte_headroom"]
    summary = (f'<p data-fte-available="{_exact(total["fte_available"])}" '
               f'data-fte-needed="{_exact(total["fte_needed"])}" '
               f'data-fte-headroom="{_exact(headroom)}">FTE available '
               f'{total["fte_available"]:.2f}, needed {total["fte_needed"]:.2f}: headroom '
               f'<strong>{headroom:+.2f}</strong> FTE.</p>')
    return (summary + _figure(
        "capacity", charts.svg(charts.capacity_chart(frame)),
        "the top bar is the FTE the team has; the next is the FTE its book needs at the service "
        "level delivered this month (each segment's share of it in proportion to its account "
        "hours), at the target share of time on accounts; a planned book, when set, below.")
        + "<table><thead><tr><th>segment</th><th>customers</th><th>account hours</th>"
          "<th>hours per customer</th></tr></thead><tbody>" + rows + "</tbody></table>")


def churn_section(data: ReportData) -> str:
    reasons = data.churn_reasons
    if reasons is None:
        return _empty(f"No churn reasons: {data.missing.get('churn_reasons', '')}.")
    if reasons.empty:
        return _empty(f"No churn or contraction in the 12 months to {data.month:%B %Y}.")
    return _figure(
        "churn-reasons", charts.svg(charts.pareto_chart(reasons)),
        f"bars are the ARR churned or contracted for each reason in the 12 months to "
        f"{data.month:%B %Y}, largest first; the dashed line with diamonds is their cumulative "
        "share: the few reasons left of ~80% explain most of the loss.")


def drivers_section(data: ReportData) -> str:
    drivers = data.drivers
    if drivers is None:
        return _empty(f"No retention drivers: {data.missing.get('drivers', '')}.")
    note = ('<p class="note">Association, not cause: these inputs go with churn in the data '
            "loaded; they do not show that changing one would change retention.</p>")
    if drivers.empty:
        return _empty("marts.retention_drivers has no rows.") + note
    frame = charts.drivers_frame(drivers)
    quarters = ""
    if "first_quarter" in drivers and drivers["first_quarter"].notna().any():
        quarters = (f" Quarters {drivers['first_quarter'].min()} to "
                    f"{drivers['last_quarter'].max()}.")
    notes = "".join(
        f"<li>{escape(str(r['input']))}: {escape(str(r['note']))}</li>"
        for _, r in drivers.iterrows() if "note" in drivers and pd.notna(r.get("note")))
    parts = [note]
    if frame.empty:
        parts.append(_empty("The regression gave no estimates." + quarters))
    else:
        parts.append(_figure(
            "drivers", charts.svg(charts.drivers_chart(frame)),
            "each input's odds ratio of churning per standard deviation more of it, with its 95% "
            "interval; right of the dashed line at 1 (triangle pointing right) goes with more "
            "churn, left with less; an interval crossing 1 is not distinguishable from no "
            "effect." + quarters))
    if notes:
        parts.append(f"<ul>{notes}</ul>")
    return "".join(parts)


def _stamp(value: datetime | date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def render_page(data: ReportData) -> str:
    builders = {"scorecard": scorecard_section, "books": books_section,
                "retention": retention_section, "hours": hours_section,
                "capacity": capacity_section, "churn-reasons": churn_section,
                "drivers": drivers_section}
    body = "".join(f'<section id="{key}"><h2>{escape(title)}</h2>{builders[key](data)}</section>'
                   for key, title in SECTIONS)
    lineage = data.lineage
    footer = (f'<footer data-period="{data.month.isoformat()}" '
              f'data-run-ids="{escape(",".join(lineage.run_ids))}" '
              f'data-loaded-at="{escape(_stamp(lineage.loaded_at))}">'
              f"Period: {data.month:%B %Y} (month from {data.month.isoformat()}). "
              f"Marts written by run {escape(', '.join(lineage.run_ids) or '-')} at "
              f"{escape(_stamp(lineage.loaded_at))}"
              + (f"; published by run {escape(lineage.published_run_id or '-')} at "
                 f"{escape(_stamp(lineage.published_at))}" if lineage.published_at else "")
              + ". Built by csm-metrics from marts.* (docs/report.md).</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"{GENERATOR}"
            f"<title>Customer Success report, {data.month:%B %Y}</title>"
            f"<style>{CSS}</style></head><body><main>"
            f"<h1>Customer Success report: {data.month:%B %Y}</h1>"
            '<p class="sub">The latest complete month in the warehouse; every figure comes '
            "from the published marts.</p>"
            f"{body}{footer}</main></body></html>\n")


def empty_page(reason: str) -> str:
    """The page when the marts hold no complete month yet."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"{GENERATOR}"
            f"<title>Customer Success report</title><style>{CSS}</style></head><body><main>"
            f"<h1>Customer Success report</h1>{_empty(reason)}</main></body></html>\n")
