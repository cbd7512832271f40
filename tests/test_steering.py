"""Steering the team (docs/metrics.md, `marts.capacity_plan`, `marts.kpi_control`,
`marts.retention_drivers`): the control chart on hand-made series, the capacity arithmetic on
a hand-made book, the regression on generated data with a known effect, and the three marts
built for the tiny company through the fakes and Dagster.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.conftest import TinyBuild
from transforms import ROOT, macro_paths
from warehouse.sql import run

MONTHS = [date(2025 + (m // 12), m % 12 + 1, 1) for m in range(24)]
BASE = [10, 12, 10, 12, 10, 12]  # centre 11, moving ranges all 2: mr_bar 2, sigma 1.773


def chart(conn: duckdb.DuckDBPyConnection, series: dict[tuple[str, str], list[float | None]],
          baseline_months: int = 12, min_points: int = 6,
          bounds: dict[str, tuple[float | None, float | None]] | None = None,
          ) -> dict[tuple[str, str], list[dict]]:
    """The control_chart macro over hand-made series, one list of rows per (kpi, scope); a KPI
    absent from `bounds` is unbounded."""
    for path in macro_paths():
        conn.execute(path.read_text())
    rows = [(kpi, scope, MONTHS[i], value, *(bounds or {}).get(kpi, (None, None)))
            for (kpi, scope), values in series.items() for i, value in enumerate(values)]
    conn.execute("create or replace temp table hand_series (kpi varchar, scope varchar, "
                 "period_start date, value double, lower_bound double, upper_bound double)")
    conn.executemany("insert into hand_series values (?, ?, ?, ?, ?, ?)", rows)
    cursor = conn.execute("select * from control_chart('hand_series', $b, $m) "
                          "order by kpi, scope, period_start",
                          {"b": baseline_months, "m": min_points})
    names = [d[0] for d in cursor.description]
    charted: dict[tuple[str, str], list[dict]] = {}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        charted.setdefault((record["kpi"], record["scope"]), []).append(record)
    return charted


SIGNALS = ("beyond_limits", "run_of_8", "two_of_three_beyond_2sigma",
           "four_of_five_beyond_1sigma")


def fired(rows: list[dict]) -> dict[str, list[int]]:
    """The points (1-based) where each signal is TRUE."""
    return {s: [i for i, row in enumerate(rows, start=1) if row[s]] for s in SIGNALS}


def kpi_control_rows(months: int, people: list[tuple], team: list[tuple],
                     database: str = ":memory:", status: dict[int, str] | None = None
                     ) -> dict[tuple, dict]:
    """marts.kpi_control built by its own SQL over hand-made month rows of the two marts it
    reads (in `database`), keyed by (kpi, scope, month number from 1); every month complete
    unless `status` says otherwise."""
    conn = duckdb.connect(database)
    for path in macro_paths():
        conn.execute(path.read_text())
    for schema in ("staging", "marts"):
        conn.execute(f"create schema {schema}")
    conn.execute("create table staging.settings as select 12 as control_baseline_months, "
                 "6 as control_min_points")
    conn.execute("create table marts.csm_period_metrics (period_grain varchar, "
                 "period_start date, csm_id varchar, hours_worked double, "
                 "hours_on_accounts double, capacity_hours double, utilization double)")
    conn.executemany("insert into marts.csm_period_metrics values ('month', ?, ?, ?, ?, ?, ?)",
                     [(MONTHS[m - 1], c, h, a, cap, h / cap if cap else None)
                      for m, c, h, a, cap in people])
    conn.execute("create table marts.team_period_metrics (period_grain varchar, "
                 "period_start date, customer_count bigint, account_efficiency double, "
                 "nps double, grr double)")
    conn.executemany("insert into marts.team_period_metrics values ('month', ?, ?, ?, ?, ?)",
                     [(MONTHS[m - 1], *values) for m, *values in team])
    conn.execute("alter table marts.team_period_metrics add column period_status varchar "
                 "default 'complete'")
    for m, kind in (status or {}).items():
        conn.execute("update marts.team_period_metrics set period_status = $s "
                     "where period_start = $m", {"s": kind, "m": MONTHS[m - 1]})
    run(conn, "create table marts.kpi_control as "
              f"{(ROOT / 'marts' / 'kpi_control.sql').read_text()}")
    cursor = conn.execute("select * from marts.kpi_control")
    names = [d[0] for d in cursor.description]
    charted = {}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        month = MONTHS.index(record["period_start"]) + 1
        assert month <= months
        charted[(record["kpi"], record["scope"], month)] = record
    conn.close()
    return charted


# --- the capacity plan, on a hand-made book -------------------------------------------------

def capacity_conn(planned: dict[str, int]) -> duckdb.DuckDBPyConnection:
    """The inputs of capacity_plan.sql for March 2025, by hand, and the working models it
    reads run from their files.

    Book at March's end: enterprise e1 (10 h in March) and e2 (6 h), smb s1 (2 h) and s2
    (0 h); c1 churned in March (5 h, not a customer at the end). In February, e1 (4 h) and s1
    (0 h). Team: alice (roster, from March 11), bob (roster, FTE 0.5, no book or hours in
    March), carol (a CRM owner with a book), dave (a CRM owner with no row in March: gone).
    """
    conn = duckdb.connect(":memory:")
    for path in macro_paths():  # the shared formulas the models use
        conn.execute(path.read_text())
    for schema in ("staging", "intermediate", "marts"):
        conn.execute(f"create schema {schema}")
    conn.execute("""create table staging.settings as select 'UTC' as reporting_timezone,
        1 as fiscal_year_start_month, 8.0 as working_hours_per_weekday,
        0.6 as target_account_share""")
    conn.execute("create table staging.roster (email varchar)")
    conn.execute("insert into staging.roster values ('alice'), ('bob')")
    conn.execute("""create table staging.segments as select * from (values
        ('enterprise', 100000.0), ('smb', 0.0)) as s(segment, lower_bound)""")
    conn.execute("create table staging.planned_book (segment varchar, customers bigint)")
    for segment, customers in planned.items():
        conn.execute("insert into staging.planned_book values (?, ?)", [segment, customers])
    conn.execute("""create table intermediate.int_people__csms as select * from (values
        ('alice', 1.0, 100000.0, date '2025-03-11', null::date),
        ('bob', 0.5, 100000.0, null::date, null::date),
        ('carol', 1.0, 100000.0, null::date, null::date),
        ('dave', 1.0, 100000.0, null::date, null::date))
        as p(csm_id, fte, annual_cost, start_date, end_date)""")
    conn.execute("""create table marts.account_period_metrics as select * from (values
        ('month', date '2025-03-01', 'e1', 'enterprise', 200000.0, 10.0),
        ('month', date '2025-03-01', 'e2', 'enterprise', 150000.0, 6.0),
        ('month', date '2025-03-01', 's1', 'smb', 5000.0, 2.0),
        ('month', date '2025-03-01', 's2', 'smb', 7000.0, 0.0),
        ('month', date '2025-03-01', 'c1', 'smb', 0.0, 5.0),
        ('month', date '2025-02-01', 'e1', 'enterprise', 200000.0, 4.0),
        ('month', date '2025-02-01', 's1', 'smb', 5000.0, 0.0))
        as a(period_grain, period_start, account_id, segment, ending_arr, hours_all_csms)""")
    # alice: 15 weekdays from March 11 x 8 h, less a day of leave; carol: 21 weekdays x 8 h.
    conn.execute("""create table marts.csm_period_metrics as select * from (values
        ('month', date '2025-03-01', 'alice', 112.0), ('month', date '2025-03-01', 'carol', 168.0),
        ('month', date '2025-03-01', 'unassigned', null))
        as c(period_grain, period_start, csm_id, capacity_hours)""")
    # The time entries of 2025 were pulled: the periods are complete, not partial.
    conn.execute("""create table staging.stg_pipeline__time_entry_windows as select
        'toggl' as source, 'time_entries' as stream, timestamptz '2025-01-01 00:00:00+00'
        as window_start, timestamptz '2026-01-01 00:00:00+00' as window_end""")
    conn.execute("create schema if not exists intermediate")
    conn.execute("create view intermediate.int_time_entries__months_pulled as "
                 f"{(ROOT / 'intermediate' / 'int_time_entries__months_pulled.sql').read_text()}")
    params = {"range_start": date(2025, 3, 1), "range_end": date(2025, 4, 1),
              "as_of": datetime(2026, 1, 1, tzinfo=UTC)}
    for name in ("wrk_periods", "wrk_csm_capacity"):
        run(conn, f"create temp table {name} as "
                  f"{(ROOT / 'working' / f'{name}.sql').read_text()}", params)
    return conn


def capacity_rows(conn: duckdb.DuckDBPyConnection, grain: str = "month") -> dict[str, dict]:
    cursor = conn.execute(f"select * from ({(ROOT / 'marts' / 'capacity_plan.sql').read_text()})"
                          " where period_grain = $g", {"g": grain})
    names = [d[0] for d in cursor.description]
    return {row[names.index("segment")]: dict(zip(names, row, strict=True))
            for row in cursor.fetchall()}


# --- the retention drivers, on generated data -----------------------------------------------

def generated_units(n: int = 5000, seed: int = 20250101) -> pd.DataFrame:
    """Churn logistic in hours_per_month (1.0 per standard deviation), touchpoints pure noise."""
    rng = np.random.default_rng(seed)
    hours = rng.normal(6.0, 2.5, n)
    noise = rng.poisson(4.0, n).astype(float)
    z = (hours - 6.0) / 2.5
    churned = rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 1.0 * z)))
    quarters = [date(2024, 1 + 3 * (i % 4), 1) for i in range(n)]
    return pd.DataFrame({"quarter_start": quarters, "account_id": [f"a{i}" for i in range(n)],
                         "churned": churned, "hours_per_month": hours, "touchpoints": noise})


# --- the three marts for the tiny company, through the fakes and Dagster --------------------

@pytest.fixture(scope="module")
def warehouse(tiny_built: TinyBuild) -> Path:
    return tiny_built.warehouse  # built with every check passing, the steering ones too


def test_the_tiny_company_has_the_steering_marts(warehouse: Path) -> None:
    from tests.conftest import read_rows

    plan = read_rows(warehouse, """
        select plan.*, team.customer_count from marts.capacity_plan as plan
        inner join marts.team_period_metrics as team using (period_grain, period_start)
        where plan.segment = 'all' and plan.period_grain = 'month' order by period_start""")
    assert [r["period_start"] for r in plan] == [date(2025, 1, 1), date(2025, 2, 1),
                                                 date(2025, 3, 1)]
    assert all(r["customers"] == r["customer_count"] for r in plan)
    # January: alice from the 15th (17 of 31 days, FTE 1), bob at FTE 0.5, dana (on the
    # roster only) at the default 1, and every other owner with a January row at 1.
    others = read_rows(warehouse, """
        select count(*) as n from marts.csm_period_metrics
        where period_grain = 'month' and period_start = '2025-01-01'
          and csm_id not in ('unassigned', 'alice@example.com', 'bob@example.com',
                             'dana@example.com')""")[0]["n"]
    assert plan[0]["fte_available"] == pytest.approx(17 / 31 + 0.5 + 1.0 + others)
    control = read_rows(warehouse, """
        select control.value, team.csm_ratio, control.centre, control.beyond_limits
        from marts.kpi_control as control
        inner join marts.team_period_metrics as team using (period_grain, period_start)
        where control.scope = 'team' and control.kpi = 'csm_ratio' order by period_start""")
    assert len(control) == 3 and all(r["value"] == r["csm_ratio"] for r in control)
    # Three months: too few for limits.
    assert all(r["centre"] is None and r["beyond_limits"] is None for r in control)
    drivers = read_rows(warehouse, "select * from marts.retention_drivers order by input")
    assert {r["input"] for r in drivers} == {
        "hours_per_month", "touchpoints", "days_since_last_touch", "nps_score",
        "onboarding_hours", "owner_accounts_managed", "owner_utilization"}
    # One quarter built, and no quarter before it: no units to fit.
    assert all(r["coefficient"] is None and r["n"] == 0 and r["note"] for r in drivers)


def test_the_steering_checks_pass_and_name_broken_rows(warehouse: Path, tmp_path: Path) -> None:
    import shutil

    from dagster import build_asset_check_context
    from dagster_duckdb import DuckDBResource

    from pipelines.metrics.checks import (
        capacity_fte_is_the_rosters,
        kpi_control_limits_ordered,
        kpi_control_signals_only_with_limits,
    )

    database = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, database)
    resource = DuckDBResource(database=str(database))
    checks = (kpi_control_limits_ordered, kpi_control_signals_only_with_limits,
              capacity_fte_is_the_rosters)
    assert [c(build_asset_check_context(), warehouse=resource).passed for c in checks] == [
        True, True, True]
    with duckdb.connect(str(database)) as conn:
        # Limits out of order, a signal without limits, one FTE too many.
        conn.execute("update marts.kpi_control set centre = 1, unpl = 0, lnpl = 2, mr_bar = 1, "
                     "sigma = 1, beyond_limits = false, run_of_8 = false, "
                     "two_of_three_beyond_2sigma = false, four_of_five_beyond_1sigma = false "
                     "where kpi = 'nrr' and scope = 'team' and period_start = '2025-01-01'")
        conn.execute("update marts.kpi_control set run_of_8 = true "
                     "where kpi = 'grr' and scope = 'team' and period_start = '2025-02-01'")
        conn.execute("update marts.capacity_plan set fte_available = fte_available + 1 "
                     "where segment = 'all' and period_grain = 'month' "
                     "and period_start = '2025-03-01'")
    results = [c(build_asset_check_context(), warehouse=resource) for c in checks]
    assert [r.passed for r in results] == [False, False, False]
    assert results[0].metadata["examples"].value == ["nrr team 2025-01-01"]
    assert results[1].metadata["examples"].value == ["grr team 2025-02-01"]
    assert results[2].metadata["examples"].value[0].startswith("month 2025-03-01 ")
