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
from pipelines.report.data import (
    GROWING_KPIS,
    KPI_LABELS,
    RENEWAL_WINDOWS,
    RISK_BANDS,
    SIGNALS,
    ReportData,
)

# Marks a page this deployment's report wrote: `write_report` replaces no report.html without it.
GENERATOR = '<meta name="generator" content="csm-metrics report">'
PERCENT_KPIS = {"nrr", "grr", "logo_retention", "utilization", "touch_coverage"}
MONEY_KPIS = {"revenue_efficiency", "arr_managed"}
SECTIONS = [
    ("cfo", "The CFO page: the last twelve months, and what is coming"),
    ("outlook", "Each CSM's outlook: renewals and accounts at risk"),
    ("at-risk", "Accounts at risk"),
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
.tiles { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px 14px; margin: 8px 0; }
.tile { border: 1px solid #d8dde3; border-radius: 4px; padding: 8px 12px; }
.tile .label { font-size: 12px; color: #3c4650; } .tile .big { font-size: 24px; font-weight: bold; }
.tile .vs { font-size: 12px; color: #3c4650; }
.flag { font-weight: bold; color: #a33b00; } .ok { color: #1d6b3a; }
.missing { background: #fff1f0; border-left: 4px solid #D55E00; padding: 8px 12px;
           font-size: 13px; }
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


def plain_flag(kpi: str, row: Any) -> str:
    """The control-chart signals of one KPI's month in words a CFO reads: "outside its usual
    range" (beyond the limits), "trending up/down" (a run rule); books grow by design, so a run
    on ARR or customers per CSM is said to be expected. '' when nothing fired."""
    value, centre = row.get("value"), row.get("centre")
    up = (value is not None and centre is not None and not pd.isna(value)
          and not pd.isna(centre) and float(value) >= float(centre))
    if row.get("beyond_limits") is True:
        return f"outside its usual range ({'high' if up else 'low'})"
    if any(row.get(s) is True for s in SIGNALS[1:]):
        trend = f"trending {'up' if up else 'down'}"
        return trend + (" (expected: books grow by design)" if kpi in GROWING_KPIS else "")
    return ""


def _pct(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):.1%}"


def _points(now: Any, then: Any) -> str:
    """The change of a ratio in percentage points, '-' when either is missing."""
    if now is None or then is None or pd.isna(now) or pd.isna(then):
        return "-"
    return f"{(float(now) - float(then)) * 100:+.1f} pts"


def _tile(metric: str, label: str, shown: str, value: Any, lines: list[str],
          **attrs: Any) -> str:
    extra = "".join(
        f' data-{k.replace("_", "-")}="{escape(v if isinstance(v, str) else _exact(v))}"'
        for k, v in attrs.items())
    return (f'<div class="tile" data-metric="{escape(metric)}" data-value="{_exact(value)}"'
            f'{extra}><div class="label">{escape(label)}</div><div class="big">{shown}</div>'
            + "".join(f'<div class="vs">{line}</div>' for line in lines) + "</div>")


def _against(value: Any, target: float | None, higher_is_better: bool, fmt: Any,
             setting: str) -> str:
    if target is None:
        return f"no target set (setting <code>{setting}</code>)"
    if value is None or pd.isna(value):
        return f"target {fmt(target)}"
    met = float(value) >= target if higher_is_better else float(value) <= target
    word = "meets" if met else ("below" if higher_is_better else "above")
    return (f'<span class="{"ok" if met else "flag"}">{word} the target of '
            f"{fmt(target)}</span>")


def _against_band(value: Any, band: tuple[float, float], fmt: Any, setting: str) -> str:
    if value is None or pd.isna(value):
        return f"benchmark band {fmt(band[0])}-{fmt(band[1])}"
    where = ("within" if band[0] <= float(value) <= band[1] else
             "below" if float(value) < band[0] else "above")
    return (f'<span class="{"ok" if where == "within" else "flag"}">{where} the benchmark band '
            f"{fmt(band[0])}-{fmt(band[1])}</span> (setting <code>{setting}</code>; no target "
            "set)")


def _ttm_period(row: dict[str, Any]) -> str:
    start, end = pd.Timestamp(row["period_start"]), pd.Timestamp(row["period_end"])
    last = end - pd.DateOffset(months=1)
    return f"{start:%b %Y} to {last:%b %Y}"


def cfo_section(data: ReportData) -> str:
    money = charts.money
    parts = []
    now = data.ttm.get("now")
    tiles = []
    if now is None:
        parts.append(_empty("No trailing-twelve-month figures: "
                            + (data.missing.get("ttm") or f"no ttm row ends with "
                               f"{data.month:%B %Y}") + "."))
    else:
        period = _ttm_period(now)
        month_before, year_before = data.ttm.get("month"), data.ttm.get("year")
        status = str(now.get("period_status") or "")
        for key, name, setting in (("nrr", "NRR", "target_nrr"), ("grr", "GRR", "target_grr")):
            tiles.append(_tile(
                f"ttm_{key}", f"{name}, trailing 12 months ({period})", _pct(now[key]), now[key],
                [f"vs the 12 months to the month before: "
                 f"{_points(now[key], (month_before or {}).get(key))}",
                 f"vs the same month a year before: "
                 f"{_points(now[key], (year_before or {}).get(key))}",
                 _against(now[key], data.targets.get(key), True, lambda v: f"{v:.0%}",
                          setting)],
                previous=(month_before or {}).get(key), year_before=(year_before or {}).get(key),
                target=data.targets.get(key), period_start=str(now["period_start"]),
                period_end=str(now["period_end"]), period_status=status))
        ratio = now.get("cost_to_serve_ratio")
        tiles.append(_tile(
            "cost_to_serve_ratio", f"Cost of CS as a share of ARR ({period})", _pct(ratio), ratio,
            [f"{data.currency} {float(now['fully_loaded_cost'] or 0):,.0f} fully loaded over "
             f"{data.currency} {float(now['total_arr'] or 0):,.0f} ARR",
             _against(ratio, data.targets.get("cost_to_serve"), False, lambda v: f"{v:.1%}",
                      "target_cost_to_serve")], target=data.targets.get("cost_to_serve")))
        if status != "complete":
            parts.append(
                f'<p class="note">These twelve months are <strong>{escape(status)}</strong>: the '
                f"time entries of {int(now.get('months_with_hours') or 0)} of their 12 months "
                "were pulled. Retention and ARR stand; figures made from hours do not "
                "(docs/metrics.md, Periods).</p>")
    headroom = None
    if data.capacity is not None and (data.capacity["segment"] == "all").any():
        total = data.capacity[data.capacity["segment"] == "all"].iloc[0]
        headroom = total["fte_headroom"]
        tiles.append(_tile(
            "fte_headroom", f"FTE headroom ({data.month:%B %Y})",
            "-" if pd.isna(headroom) else f"{float(headroom):+.2f} FTE", headroom,
            [f"{_number(total['fte_available'])} FTE available, {_number(total['fte_needed'])} "
             "needed for the book at this month's service level"]))
    else:
        tiles.append(_tile("fte_headroom", "FTE headroom", "-", None,
                           [escape(data.missing.get("capacity", "no capacity plan rows"))]))
    card = data.scorecard if data.scorecard is not None else pd.DataFrame(columns=["kpi"])
    for kpis, label, key, band, setting, fmt in (
            (("revenue_efficiency", "arr_managed"), "ARR per CSM", "arr_per_csm", data.arr_band,
             "arr_band", lambda v: f"{data.currency} {money(v)}"),
            (("csm_ratio", "accounts_managed"), "Customers per CSM", "customers_per_csm",
             data.accounts_band, "accounts_band", lambda v: f"{v:,.1f}")):
        row = card[card["kpi"].isin(kpis)]
        value = row.iloc[0]["value"] if len(row) else None
        target = data.targets.get(key)
        compare = (_against(value, target, True, fmt, f"target_{key}") if target is not None
                   else _against_band(value, band, fmt, setting))
        tiles.append(_tile(key, f"{label} ({data.month:%B %Y})",
                           "-" if value is None or pd.isna(value) else fmt(float(value)),
                           value, [compare], target=target))
    parts.insert(0, '<div class="tiles">' + "".join(tiles) + "</div>")
    if now is not None:
        if data.ttm_series is not None and data.ttm_series[["nrr", "grr"]].notna().any().any():
            parts.append(_figure(
                "ttm-retention", charts.svg(charts.ttm_chart(
                    data.ttm_series, data.targets.get("nrr"), data.targets.get("grr"))),
                "each point is the trailing twelve months ending with that month: net (solid, "
                "circles) and gross (dashed, squares) revenue retention of the book a year "
                "before; 100% keeps every dollar. "
                + ("Dashed pink lines are the targets." if data.targets.get("nrr") is not None
                   or data.targets.get("grr") is not None else "No target is set (settings "
                   "target_nrr, target_grr).")))
        parts.append(_figure(
            "bridge", charts.svg(charts.bridge_chart(charts.bridge_frame(now))),
            f"the ARR of {_ttm_period(now)}: from the ARR at the start (grey, left), what was "
            "won (new, reactivated, expanded; green, up) and lost (contracted, churned; red, "
            "down), to the ARR at the end (grey, right). The axis starts at zero."))
        parts.append('<div hidden data-bridge="' + escape(",".join(
            f"{k}={_exact(now[k])}" for k in ["starting_arr", "new_arr", "reactivation_arr",
                                               "expansion_arr", "contraction_arr",
                                               "churned_arr", "total_arr"])) + '"></div>')
    parts.append(renewals_part(data))
    parts.append(flags_part(data))
    parts.append(unknown_reasons_part(data))
    return "".join(parts)


def renewals_part(data: ReportData) -> str:
    frame = data.renewals
    title = "<h3>Renewals due</h3>"
    if frame is None:
        return title + _empty(f"Renewals not built yet: {data.missing.get('renewals', '')}.")
    cells = {(int(r["days"]), r["risk_band"]): r for _, r in frame.iterrows()}
    rows = []
    for band in [*RISK_BANDS, "all"]:
        tds = []
        for days in RENEWAL_WINDOWS:
            if band == "all":
                part = frame[frame["days"] == days]
                accounts, arr = int(part["accounts"].sum()), float(part["arr_lapsing"].sum())
            else:
                r = cells[(days, band)]
                accounts, arr = int(r["accounts"]), float(r["arr_lapsing"])
            tds.append(f'<td data-days="{days}" data-accounts="{accounts}" '
                       f'data-arr="{_exact(arr)}">{accounts}</td><td>{arr:,.0f}</td>')
        rows.append(f'<tr data-band="{band}"><td>{band}</td>{"".join(tds)}</tr>')
    table = ("<table><thead><tr><th>churn risk</th><th>accounts, 90 days</th>"
             f"<th>ARR lapsing, 90 days ({escape(data.currency)})</th><th>accounts, 180 days"
             f"</th><th>ARR lapsing, 180 days ({escape(data.currency)})</th></tr></thead>"
             "<tbody>" + "".join(rows) + "</tbody></table>")
    if float(frame["arr_lapsing"].sum()) <= 0:
        return title + _empty("No ARR comes up for renewal in the next 180 days.") + table
    return title + _figure(
        "renewals", charts.svg(charts.renewals_chart(frame)),
        "ARR whose contracts end in the next 90 and 180 days (180 includes 90) and lapses "
        "unless renewed, split by the account's churn risk (high, medium, low; unknown when "
        "the model could not be fitted); the total is at the bar's end. Risk is association, "
        "not cause.") + table


def flags_part(data: ReportData) -> str:
    card = data.scorecard
    title = "<h3>What moved</h3>"
    if data.control is None or card is None:
        return title + _empty("No flags: " + data.missing.get("control", "no control limits")
                              + ".")
    items = []
    for _, r in card.iterrows():
        flag = plain_flag(r["kpi"], r)
        if flag:
            items.append(f'<li data-kpi="{escape(r["kpi"])}" data-flag="{escape(flag)}">'
                         f"{escape(KPI_LABELS.get(r['kpi'], r['kpi']))} "
                         f"({data.month:%B %Y}, one month: "
                         f"{kpi_format(r['kpi'], r['value'], data.currency)}) is "
                         f'<span class="flag">{escape(flag)}</span>.</li>')
    if not items and card["lnpl"].isna().all():
        return title + ("<p>Too few complete months yet to tell a KPI's move from its usual "
                        "variation (control limits need a baseline of months).</p>")
    if not items:
        return title + (f"<p>No KPI moved beyond its usual month-to-month variation in "
                        f"{data.month:%B %Y}.</p>")
    return title + "<ul>" + "".join(items) + "</ul>" + _how(
        "\"usual range\" is what the KPI's own past months vary within; \"trending\" is a "
        "run of months on one side of its usual level. The Team scorecard below has the charts.")


def unknown_reasons_part(data: ReportData) -> str:
    unknown = data.unknown_reasons
    if not unknown or not unknown["accounts"]:
        return ""
    share = unknown["arr"] / unknown["lost_arr"] if unknown["lost_arr"] else 0.0
    sf = data.loss_fields.get("salesforce")
    hs = data.loss_fields.get("hubspot") or "closed_lost_reason"
    salesforce = (f"fill the Opportunity field <code>{escape(sf)}</code> on lost deals" if sf
                  else "set <code>salesforce_loss_reason_field</code> to the Opportunity field "
                       "holding the loss reason")
    return (f'<p class="missing" data-missing="churn_reason" data-accounts="{unknown["accounts"]}"'
            f' data-arr="{_exact(unknown["arr"])}"><strong>Missing CRM data:</strong> '
            f"{unknown['accounts']} churned or contracted account(s) in the 12 months to "
            f"{data.month:%B %Y} ({data.currency} {unknown['arr']:,.0f}, {share:.0%} of the ARR "
            f"lost) have no loss reason (shown as <code>unknown</code>). In Salesforce, "
            f"{salesforce}; in HubSpot, fill the deal property <code>{escape(hs)}</code> "
            "(setting <code>hubspot_loss_reason_property</code>).</p>")


def outlook_section(data: ReportData) -> str:
    frame = data.outlook
    if frame is None:
        return _empty(f"The CSM outlook is not built yet: {data.missing.get('outlook', '')}.")
    if frame.empty:
        return _empty("marts.csm_outlook has no rows.")
    as_of = frame["as_of"].dropna()
    when = _stamp(as_of.iloc[0]) if len(as_of) else "-"
    rows = []
    for _, r in frame.iterrows():
        touched = r["high_risk_touched_30d"]
        team = r["csm_id"] == "team"
        rows.append(
            f'<tr data-csm="{escape(str(r["csm_id"]))}" data-arr="{_exact(r["arr_managed"])}" '
            f'data-arr-renewing-90d="{_exact(r["arr_renewing_90d"])}" '
            f'data-arr-renewing-180d="{_exact(r["arr_renewing_180d"])}" '
            f'data-high-risk-accounts="{int(r["high_risk_accounts"] or 0)}" '
            f'data-high-risk-arr="{_exact(r["high_risk_arr"])}" '
            f'data-high-risk-touched-30d="{_exact(touched)}" '
            f'data-renewing-90d-untouched-30d="{int(r["renewing_90d_untouched_30d"] or 0)}"'
            + (' style="font-weight:bold"' if team else "") + ">"
            f'<td>{"Team" if team else _name(r["csm_name"])}</td>'
            f'<td>{int(r["accounts_managed"] or 0)}</td><td>{_money0(r["arr_managed"])}</td>'
            f'<td>{int(r["accounts_renewing_90d"] or 0)}</td>'
            f'<td>{_money0(r["arr_renewing_90d"])}</td><td>{_money0(r["arr_renewing_180d"])}</td>'
            f'<td>{int(r["high_risk_accounts"] or 0)}</td><td>{_money0(r["high_risk_arr"])}</td>'
            f'<td>{"-" if touched is None or pd.isna(touched) else f"{float(touched):.0%}"}</td>'
            f'<td>{int(r["renewing_90d_untouched_30d"] or 0)}</td></tr>')
    return (f"<p>At {escape(when)} (the data's <code>as_of</code>), sorted by the ARR of "
            "high-risk accounts.</p>"
            "<table><thead><tr><th>CSM</th><th>accounts</th><th>ARR</th>"
            "<th>renewing in 90 days</th><th>ARR renewing, 90 days</th>"
            "<th>ARR renewing, 180 days</th><th>high-risk accounts</th><th>high-risk ARR</th>"
            "<th>high-risk touched in 30 days</th><th>renewing in 90 days, untouched 30 days"
            "</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + _how(
                "one row per CSM with a book (the last row is the team). \"Touched\" means any "
                "touchpoint by anyone in the 30 days before as_of; an account renewing within "
                "90 days and untouched for 30 is the first call to make."))


def at_risk_section(data: ReportData) -> str:
    frame = data.at_risk
    if frame is None:
        return _empty(f"Account risk is not built yet: {data.missing.get('at_risk', '')}.")
    note = ('<p class="note">Association, not cause: the probability is the retention-driver '
            "model applied to each account's last three months; it ranks accounts for "
            "attention, it does not say why one would leave.</p>")
    if frame.empty:
        return note + _empty("No account is at high or medium risk.")
    rows = "".join(
        f'<tr data-account="{escape(str(r["account_id"]))}" '
        f'data-probability="{_exact(r["churn_probability"])}" '
        f'data-band="{escape(str(r["risk_band"]))}" data-arr="{_exact(r["arr_now"])}">'
        f'<td>{_name(r["account_name"])}</td><td>{escape(str(r["risk_band"]))}</td>'
        f'<td>{_pct(r["churn_probability"])}</td><td>{_money0(r["arr_now"])}</td>'
        f'<td>{_name(r["csm_id"])}</td><td>{escape(str(r["segment"] or "-"))}</td>'
        f'<td>{_day(r["last_touch_at"])}</td><td>{_day(r["next_renewal_date"])}</td></tr>'
        for _, r in frame.iterrows())
    return (note + "<table><thead><tr><th>account</th><th>risk</th><th>churn probability</th>"
            f"<th>ARR ({escape(data.currency)})</th><th>CSM</th><th>segment</th>"
            "<th>last touch</th><th>next renewal</th></tr></thead><tbody>" + rows
            + "</tbody></table>" + _how(
                "high-risk accounts first, then medium, each by ARR times churn probability; "
                "high is at least twice the fit's overall churn rate."))


def _money0(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):,.0f}"


def _day(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "never"
    return str(pd.Timestamp(value).date())


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
        flag = plain_flag(kpi, r)
        signal = (f'<span class="signal" title="{escape(", ".join(fired))}">&#9650; '
                  f"{escape(flag)}</span>" if fired
                  else ("none" if pd.notna(r["lnpl"]) else "no limits yet"))
        rows.append(
            f'<tr data-kpi="{escape(kpi)}" data-value="{_exact(r["value"])}" '
            f'data-centre="{_exact(r["centre"])}" data-unpl="{_exact(r["unpl"])}" '
            f'data-lnpl="{_exact(r["lnpl"])}" data-signals="{escape(",".join(fired))}">'
            f'<td>{escape(KPI_LABELS.get(kpi, kpi))}</td>'
            f'<td class="value">{kpi_format(kpi, r["value"], data.currency)}</td>'
            f'<td>{kpi_format(kpi, r["centre"], data.currency)}</td><td>{limits}</td>'
            f'<td>{signal}</td></tr>')
    table = (f"<table><thead><tr><th>KPI</th><th>{data.month:%B %Y} (one month)</th>"
             "<th>usual level</th><th>usual range</th><th>flag</th></tr></thead><tbody>"
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
                    "dots are months; solid line the usual level, dashed the usual range; a "
                    "triangle is outside the usual range, a square part of a trend."))
        parts.append('<div class="grid">' + "".join(figures) + "</div>" + _how(
            "the usual level (centre) is the mean, and the usual range (limits) centre -+ 2.66 "
            "x the mean moving range, of the baseline months before each point; run rules "
            "are 8 in a row on one side, 2 of 3 beyond 2 sigma, 4 of 5 beyond 1 sigma "
            "(sigma = mean moving range / 1.128). No "
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
    arr_target = data.targets.get("arr_per_csm")
    accounts_target = data.targets.get("customers_per_csm")
    targets = (" Dashed pink lines are the targets." if arr_target is not None
               or accounts_target is not None else "")
    return (_figure("books", charts.svg(charts.book_chart(books, data.arr_band,
                                                          data.accounts_band, arr_target,
                                                          accounts_target)),
                    f"each point is a CSM at {data.month:%B %Y}'s end (ARR managed in "
                    f"brackets); the shaded areas are the benchmark bands, "
                    f"{charts.money(low)}-{charts.money(high)} ARR and {a_low:g}-{a_high:g} "
                    "accounts. A circle sits inside both bands, a diamond outside one; a thin "
                    "line joins a point to its label when the label had to move." + targets)
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
    builders = {"cfo": cfo_section, "outlook": outlook_section, "at-risk": at_risk_section,
                "scorecard": scorecard_section, "books": books_section,
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
