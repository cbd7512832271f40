"""What the report reads: each section's rows from the marts, by column name.

The report reads a copy of the marts (the published one, docs/report.md). Other marts arrive over
time (`kpi_control`, `capacity_plan`, `churn_reasons`, `retention_drivers`, the engagement
columns): a section whose table or columns are not there yet is `None` and the page says so,
rather than failing. Everything is keyed on the report's month, never on "today".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd
from dateutil.relativedelta import relativedelta

from warehouse.sql import run

# The team KPIs of docs/metrics.md (steering): kpi_control's `kpi` names, team scope first.
# Where the team has its own column under another name, kpi_control may use either.
KPI_LABELS = {
    "nrr": "Net revenue retention",
    "grr": "Gross revenue retention",
    "logo_retention": "Logo retention",
    "revenue_efficiency": "ARR per CSM",
    "arr_managed": "ARR per CSM",
    "csm_ratio": "Customers per CSM",
    "accounts_managed": "Customers per CSM",
    "accounts_per_hour": "Accounts per hour",
    "account_efficiency": "Accounts per hour",
    "hours_per_account": "Hours per account",
    "utilization": "Utilization",
    "touch_coverage": "Touch coverage",
    "nps": "NPS",
}
KPI_ORDER = list(KPI_LABELS)
# The team_period_metrics column each team KPI equals (when that column exists).
TEAM_COLUMN = {"nrr": "nrr", "grr": "grr", "logo_retention": "logo_retention",
               "revenue_efficiency": "revenue_efficiency", "arr_managed": "revenue_efficiency",
               "csm_ratio": "csm_ratio", "accounts_managed": "csm_ratio",
               "accounts_per_hour": "account_efficiency",
               "account_efficiency": "account_efficiency", "touch_coverage": "touch_coverage",
               "nps": "nps"}
# Without kpi_control, the scorecard still shows the team's own columns (without limits).
FALLBACK_KPIS = ["nrr", "grr", "logo_retention", "revenue_efficiency", "csm_ratio",
                 "account_efficiency", "touch_coverage", "nps"]
SIGNALS = ["beyond_limits", "run_of_8", "two_of_three_beyond_2sigma",
           "four_of_five_beyond_1sigma"]
MOVEMENTS = ["new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr"]
HISTORY_MONTHS = 12  # retention, waterfall and churn reasons look back this far
# Books grow by design: a run signal on these says "trending", not "something changed".
GROWING_KPIS = {"revenue_efficiency", "arr_managed", "csm_ratio", "accounts_managed"}
RISK_BANDS = ["high", "medium", "low", "unknown"]
RENEWAL_WINDOWS = (90, 180)
TTM_COLUMNS = ["period_start", "period_end", "period_status", "months_with_hours", "nrr", "grr",
               "starting_arr", "total_arr", *MOVEMENTS, "fully_loaded_cost"]
OUTLOOK_COLUMNS = ["csm_id", "accounts_managed", "arr_managed", "arr_renewing_90d",
                   "arr_renewing_180d", "accounts_renewing_90d", "high_risk_accounts",
                   "high_risk_arr", "high_risk_touched_30d", "renewing_90d_untouched_30d",
                   "as_of"]
RISK_COLUMNS = ["account_id", "account_name", "csm_id", "segment", "arr_now",
                "churn_probability", "risk_band", "last_touch_at", "next_renewal_date"]
RENEWAL_COLUMNS = ["account_id", "renewal_date", "days_to_renewal", "arr_lapsing", "arr_now",
                   "churn_probability", "risk_band", "csm_id"]
AT_RISK_ROWS = 25  # the at-risk list shows this many accounts, most ARR at risk first
CONTROL_MONTHS = 24  # the control charts show this many months


@dataclass(frozen=True)
class Lineage:
    """Which build the page shows: the marts' run ids and load times, and the publication."""

    run_ids: tuple[str, ...]
    loaded_at: datetime | None
    published_run_id: str | None = None
    published_at: datetime | None = None


@dataclass
class ReportData:
    """Each section's rows for one month; `None` where the warehouse lacks the table."""

    month: date
    lineage: Lineage
    arr_band: tuple[float, float]
    accounts_band: tuple[float, float]
    currency: str
    scorecard: pd.DataFrame | None = None
    control: pd.DataFrame | None = None
    books: pd.DataFrame | None = None
    retention: pd.DataFrame | None = None
    hours: pd.DataFrame | None = None
    capacity: pd.DataFrame | None = None
    churn_reasons: pd.DataFrame | None = None
    drivers: pd.DataFrame | None = None
    # The CFO page and the pages after it (docs/report.md).
    ttm: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # now, month, year
    ttm_series: pd.DataFrame | None = None  # ttm NRR and GRR for the 12 months to the month
    renewals: pd.DataFrame | None = None  # per window and risk band: accounts, ARR lapsing
    outlook: pd.DataFrame | None = None
    at_risk: pd.DataFrame | None = None
    unknown_reasons: dict[str, float] | None = None  # accounts and ARR with reason `unknown`
    targets: dict[str, float | None] = field(default_factory=dict)
    loss_fields: dict[str, str | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of `marts.<table>` in the connection's current database (empty: no table)."""
    rows = conn.execute(
        "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = "
        "$table and database_name = current_database()", {"table": table}).fetchall()
    return {r[0] for r in rows}


def _lacks(conn: duckdb.DuckDBPyConnection, table: str, needed: Iterable[str]) -> str | None:
    """Why a section cannot be drawn from `marts.<table>`, or None when it can."""
    have = table_columns(conn, table)
    if not have:
        return f"marts.{table} is not in this warehouse yet"
    absent = [c for c in needed if c not in have]
    if absent:
        return f"marts.{table} has no column {', '.join(absent)} yet"
    return None


def _frame(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """Rows as a DataFrame, money (DECIMAL) as floats for the charts."""
    cursor = run(conn, sql, params)
    names = [d[0] for d in cursor.description]
    frame = pd.DataFrame(cursor.fetchall(), columns=names)
    for name in names:
        if frame[name].map(lambda v: hasattr(v, "quantize")).any():
            frame[name] = frame[name].astype(float)
    return frame


def report_month(conn: duckdb.DuckDBPyConnection, timezone: str) -> date | None:
    """The latest complete month (`period_status`, docs/metrics.md, Periods), so the open month
    a daily run refreshes is never reported as if it were whole."""
    row = conn.execute("""
        select max(period_start) from marts.team_period_metrics
        where period_grain = 'month' and period_status = 'complete'""").fetchone()
    return row[0] if row else None


def lineage(conn: duckdb.DuckDBPyConnection, month: date) -> Lineage:
    rows = conn.execute("""
        select list(distinct run_id order by run_id), max(loaded_at)
        from (select run_id, loaded_at from marts.team_period_metrics
              where period_grain = 'month' and period_start = $m
              union all
              select run_id, loaded_at from marts.csm_period_metrics
              where period_grain = 'month' and period_start = $m)
        """, {"m": month}).fetchone()
    run_ids, loaded_at = (tuple(rows[0] or ()), rows[1]) if rows else ((), None)
    published = conn.execute(
        "select count(*) from duckdb_tables() where schema_name = 'meta' "
        "and table_name = 'publication' and database_name = current_database()").fetchone()
    if published and published[0]:
        meta = conn.execute("select run_id, published_at from meta.publication").fetchone()
        if meta:
            return Lineage(run_ids, loaded_at, meta[0], meta[1])
    return Lineage(run_ids, loaded_at)


def scorecard(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    """The team's KPIs for the month, with their control limits and signals, and the series
    the control charts draw. From kpi_control when it exists, else the team's own columns."""
    needed = ["kpi", "scope", "period_start", "value", "centre", "unpl", "lnpl", *SIGNALS]
    why = _lacks(conn, "kpi_control", needed)
    if why is None:
        series = _frame(conn, f"""
            select kpi, period_start, value, centre, unpl, lnpl, {", ".join(SIGNALS)}
            from marts.kpi_control
            where scope = 'team' and period_start <= $m
              and period_start > $m - to_months({CONTROL_MONTHS})
            order by kpi, period_start""", {"m": data.month})
        data.control = series
        latest = series[series["period_start"] == pd.Timestamp(data.month).date()]
        data.scorecard = _ordered(latest.reset_index(drop=True))
        return
    data.missing["control"] = why
    have = table_columns(conn, "team_period_metrics")
    kpis = [k for k in FALLBACK_KPIS if k in have]
    row = _frame(conn, f"""
        select {", ".join(kpis)} from marts.team_period_metrics
        where period_grain = 'month' and period_start = $m""", {"m": data.month})
    values = row.iloc[0].to_dict() if len(row) else {}
    data.scorecard = pd.DataFrame({
        "kpi": kpis, "period_start": [data.month] * len(kpis),
        "value": [values.get(k) for k in kpis],
        **{c: [None] * len(kpis) for c in ["centre", "unpl", "lnpl", *SIGNALS]}})


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {k: i for i, k in enumerate(KPI_ORDER)}
    return frame.sort_values("kpi", key=lambda s: s.map(lambda k: rank.get(k, len(rank))),
                             kind="stable").reset_index(drop=True)


def books(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    data.books = _frame(conn, """
        select csm_id, csm_name, accounts_managed, arr_managed, arr_band, accounts_band
        from marts.csm_period_metrics
        where period_grain = 'month' and period_start = $m and csm_id <> 'unassigned'
          and accounts_managed > 0
        order by arr_managed desc, csm_id""", {"m": data.month})


def retention(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    data.retention = _frame(conn, f"""
        select period_start, nrr, grr, starting_arr, total_arr, {", ".join(MOVEMENTS)}
        from marts.team_period_metrics
        where period_grain = 'month' and period_start <= $m
          and period_start > $m - to_months({HISTORY_MONTHS})
        order by period_start""", {"m": data.month})


def hours(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    data.hours = _frame(conn, """
        select h.csm_id, coalesce(c.csm_name, h.csm_id) as csm_name, h.activity, h.hours, h.share
        from marts.csm_activity_hours as h
        left join marts.csm_period_metrics as c
            on c.period_grain = h.period_grain and c.period_start = h.period_start
            and c.csm_id = h.csm_id
        where h.period_grain = 'month' and h.period_start = $m and h.hours > 0
        order by csm_name, h.activity""", {"m": data.month})


def capacity(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    needed = ["period_grain", "period_start", "segment", "customers", "account_hours",
              "hours_per_customer", "fte_available", "fte_needed", "fte_headroom"]
    why = _lacks(conn, "capacity_plan", needed)
    if why:
        data.missing["capacity"] = why
        return
    planned = ("fte_needed_planned" if "fte_needed_planned" in table_columns(conn, "capacity_plan")
               else "null::double as fte_needed_planned")
    data.capacity = _frame(conn, f"""
        select segment, customers, account_hours, hours_per_customer, fte_available,
               fte_needed, fte_headroom, {planned}
        from marts.capacity_plan
        where period_grain = 'month' and period_start = $m
        order by segment = 'all', segment""", {"m": data.month})


def churn_reasons(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    """Churn and contraction reasons over the last 12 months, by ARR (the Pareto)."""
    why = _lacks(conn, "churn_reasons", ["period_grain", "period_start", "movement", "reason",
                                         "accounts", "arr"])
    if why:
        data.missing["churn_reasons"] = why
        return
    data.churn_reasons = _frame(conn, f"""
        with reasons as (
            select reason, sum(accounts) as accounts, sum(arr) as arr
            from marts.churn_reasons
            where period_grain = 'month' and period_start <= $m
              and period_start > $m - to_months({HISTORY_MONTHS})
            group by reason
            having sum(arr) > 0
        )
        select reason, accounts, arr,
               sum(arr) over (order by arr desc, reason
                              rows between unbounded preceding and current row)
                   / sum(arr) over () as cumulative_share
        from reasons
        order by arr desc, reason""", {"m": data.month})


def drivers(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    needed = ["input", "n", "coefficient", "std_error", "p_value", "odds_ratio_per_sd"]
    why = _lacks(conn, "retention_drivers", needed)
    if why:
        data.missing["drivers"] = why
        return
    have = table_columns(conn, "retention_drivers")
    extra = [c for c in ["churn_rate_top_quartile", "churn_rate_bottom_quartile",
                         "first_quarter", "last_quarter", "note"] if c in have]
    data.drivers = _frame(conn, f"""
        select {", ".join(needed + extra)} from marts.retention_drivers order by input""", {})


def ttm(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    """The trailing twelve months ending with the report month, the month before's and the
    same month a year before's (docs/metrics.md, Periods): the figures a CFO quotes."""
    why = _lacks(conn, "team_period_metrics", ["period_status", "months_with_hours"])
    if why is None and not conn.execute(
            "select count(*) from marts.team_period_metrics where period_grain = 'ttm'"
            ).fetchone()[0]:
        why = "marts.team_period_metrics has no trailing-twelve-month (ttm) rows yet"
    if why:
        data.missing["ttm"] = why
        return
    have = table_columns(conn, "team_period_metrics")
    ratio = ("cost_to_serve_ratio" if "cost_to_serve_ratio" in have else
             "fully_loaded_cost / nullif(total_arr, 0)")
    rows = _frame(conn, f"""
        select {", ".join(TTM_COLUMNS)}, {ratio} as cost_to_serve_ratio
        from marts.team_period_metrics
        where period_grain = 'ttm'
          and period_end between $m - interval 11 month and $m + interval 1 month
        order by period_end""", {"m": data.month})
    ends = {"now": data.month + relativedelta(months=1), "month": data.month,
            "year": data.month - relativedelta(months=11)}
    for key, end in ends.items():
        match = rows[pd.to_datetime(rows["period_end"]).dt.date == end]
        data.ttm[key] = match.iloc[0].to_dict() if len(match) else None
    series = rows[pd.to_datetime(rows["period_end"]).dt.date > ends["year"]].copy()
    series["month"] = (pd.to_datetime(series["period_end"]) - pd.DateOffset(months=1)
                       ).dt.strftime("%Y-%m")
    data.ttm_series = series[["month", "nrr", "grr"]].reset_index(drop=True)


def renewals(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    """ARR lapsing in the next 90 and 180 days (cumulative windows) by risk band."""
    why = _lacks(conn, "renewals", RENEWAL_COLUMNS)
    if why:
        data.missing["renewals"] = why
        return
    windows = ", ".join(f"({w})" for w in RENEWAL_WINDOWS)
    bands = ", ".join(f"('{b}', {i})" for i, b in enumerate(RISK_BANDS))
    data.renewals = _frame(conn, f"""
        with windows as (select * from (values {windows}) t(days)),
        bands as (select * from (values {bands}) t(risk_band, band_order))
        select w.days, b.risk_band,
               count(distinct r.account_id) as accounts,
               coalesce(sum(r.arr_lapsing), 0) as arr_lapsing
        from windows as w
        cross join bands as b
        left join marts.renewals as r
            on r.days_to_renewal between 0 and w.days
            and coalesce(r.risk_band, 'unknown') = b.risk_band
        group by w.days, b.risk_band, b.band_order
        order by w.days, b.band_order""", {})


def outlook(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    """Each CSM's outlook (and the team row), most high-risk ARR first."""
    why = _lacks(conn, "csm_outlook", OUTLOOK_COLUMNS)
    if why:
        data.missing["outlook"] = why
        return
    data.outlook = _frame(conn, f"""
        select {", ".join("o." + c for c in OUTLOOK_COLUMNS)},
               coalesce(n.csm_name, o.csm_id) as csm_name
        from marts.csm_outlook as o
        left join (select csm_id, any_value(csm_name) as csm_name
                   from marts.csm_period_metrics group by csm_id) as n
            on n.csm_id = o.csm_id
        order by o.csm_id = 'team', o.high_risk_arr desc nulls last,
                 o.arr_renewing_90d desc nulls last, o.csm_id""", {})


def at_risk(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    """The accounts most at risk: high, then medium risk, most ARR at risk first."""
    why = _lacks(conn, "account_risk", RISK_COLUMNS)
    if why:
        data.missing["at_risk"] = why
        return
    data.at_risk = _frame(conn, f"""
        select {", ".join(RISK_COLUMNS)}, arr_now * churn_probability as arr_at_risk
        from marts.account_risk
        where risk_band in ('high', 'medium')
        order by risk_band = 'medium', arr_now * churn_probability desc nulls last, account_id
        limit {AT_RISK_ROWS}""", {})


def unknown_reasons(conn: duckdb.DuckDBPyConnection, data: ReportData) -> None:
    """How many churned or contracted accounts in the 12 months have no loss reason."""
    if _lacks(conn, "churn_reasons", ["period_grain", "period_start", "reason", "accounts",
                                      "arr"]):
        return
    row = conn.execute(f"""
        select coalesce(sum(accounts), 0), coalesce(sum(arr), 0)
        from marts.churn_reasons
        where period_grain = 'month' and period_start <= $m
          and period_start > $m - to_months({HISTORY_MONTHS}) and reason = 'unknown'""",
                       {"m": data.month}).fetchone()
    total = conn.execute(f"""
        select coalesce(sum(arr), 0) from marts.churn_reasons
        where period_grain = 'month' and period_start <= $m
          and period_start > $m - to_months({HISTORY_MONTHS})""", {"m": data.month}).fetchone()
    data.unknown_reasons = {"accounts": int(row[0]), "arr": float(row[1]),
                            "lost_arr": float(total[0])}


def read_report(conn: duckdb.DuckDBPyConnection, *, timezone: str,
                arr_band: tuple[float, float], accounts_band: tuple[float, float],
                currency: str = "USD", month: date | None = None,
                targets: dict[str, float | None] | None = None,
                loss_fields: dict[str, str | None] | None = None) -> ReportData | None:
    """Every section's rows for `month` (default: the latest complete month); None when the
    marts hold no complete month."""
    month = month or report_month(conn, timezone)
    if month is None:
        return None
    data = ReportData(month, lineage(conn, month), arr_band, accounts_band, currency,
                      targets=dict(targets or {}), loss_fields=dict(loss_fields or {}))
    for read in (scorecard, books, retention, hours, capacity, churn_reasons, drivers, ttm,
                 renewals, outlook, at_risk, unknown_reasons):
        read(conn, data)
    return data
