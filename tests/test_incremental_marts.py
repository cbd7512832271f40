"""A marts build for one month reads only the time entries that can overlap its periods, and
gives the rows a full rebuild gives for that month, its quarter and its year.

The build sets the entry window (warehouse/marts.py) from `wrk_periods`: from the earliest
period start less 24 hours (the longest entry that counts) to the latest period end. The
time-entry models read the typed staging tables through it while the working models run;
every other reader (the quarantine, the outside-population count) sees all history
(docs/performance.md, Incremental marts; docs/reliability.md).
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from connectors.streams import Window
from sandbox.company import generate_company
from sandbox.servers import Sandbox
from tests.test_typed_staging import END, RULES, START, land_all, pull, records, snapshot
from warehouse.loading import land
from warehouse.marts import build_month_marts, clear_entry_window, set_entry_window
from warehouse.schema import prepare

APRIL = date(2025, 4, 1)
ZONE = ZoneInfo(RULES.reporting_timezone)
# The periods an April refresh rebuilds: the month, its quarter and its (calendar) year.
APRIL_PERIODS = {("month", APRIL), ("quarter", APRIL), ("year", START)}
# Every build measures to the end of the months pulled: the year is open, not partial, so its
# hours are there to compare (docs/metrics.md, Periods).
AS_OF = datetime(END.year, END.month, END.day, tzinfo=ZONE)


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> dict:
    company = generate_company(seed=11, csm_count=3, account_count=8, start=START, end=END,
                               entries_per_day=1)
    with pytest.MonkeyPatch.context() as monkeypatch, \
            Sandbox(company).start(str(tmp_path_factory.mktemp("ca"))) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        return pull(sandbox)


def loaded(pulled: dict, new_year_entry: bool = True) -> duckdb.DuckDBPyConnection:
    """Every stream landed, plus a Clockify entry of December 2024 that runs into the year
    2025 (its last two hours count in the year): it starts before the year, so only the
    window's 24-hour margin lets a build of the year see it."""
    conn = duckdb.connect(":memory:")
    streams = [stream for stream, _ in pulled.values()]
    prepare(conn, streams, RULES.for_warehouse(), RULES.tables())
    land_all(conn, pulled, "backfill")
    if not new_year_entry:
        return conn
    stream, pages = pulled[("clockify__time_entries", 0)]
    entry = copy.deepcopy(records(pages)[0])
    start = datetime(2024, 12, 31, 22, tzinfo=ZONE)
    entry["id"] = "newyear0000000000000001"
    entry["timeInterval"] = {"start": start.isoformat(),
                             "end": (start + timedelta(hours=4)).isoformat(), "duration": "PT4H"}
    december = Window(datetime(2024, 12, 1, tzinfo=ZONE), datetime(2025, 1, 1, tzinfo=ZONE))
    land(conn, stream, [[entry]], "december", december, allow_mass_delete=True)
    prepare(conn, streams, RULES.for_warehouse(), RULES.tables())
    return conn


def periods_rows(found: dict[str, list[tuple]], periods: set[tuple[str, date]]
                 ) -> dict[str, list[tuple]]:
    """Each period-keyed mart's rows of `periods` (period_grain and period_start lead every
    such mart's columns); the quarantine whole."""
    return {name: [row for row in rows if name == "marts.quarantine"
                   or (row[0], row[1]) in periods]
            for name, rows in found.items() if name.startswith("marts.")}


def test_a_one_month_refresh_gives_a_full_rebuilds_rows_for_its_month_quarter_and_year(
        pulled: dict) -> None:
    full = loaded(pulled)
    build_month_marts(full, START, END, "full", AS_OF)
    rebuilt = periods_rows(snapshot(full), APRIL_PERIODS)
    without = loaded(pulled, new_year_entry=False)
    build_month_marts(without, START, END, "without", AS_OF)
    year_hours = [conn.execute(
        "select sum(hours_worked) from marts.team_period_metrics "
        "where period_grain = 'year' and period_start = $start", {"start": START}).fetchone()[0]
        for conn in (full, without)]
    assert year_hours[0] == pytest.approx(year_hours[1] + 2)  # the entry's hours of 2025

    refreshed = loaded(pulled)
    # The months before April as a backfill left them, in another warehouse (the capacity
    # plan's 12-month service level reads the month rows built before it: docs/metrics.md,
    # Capacity plan); then April alone, on a warehouse that never built a month.
    before = loaded(pulled)
    build_month_marts(before, START, APRIL, "backfill", AS_OF)
    for table in ("account_period_metrics", "csm_period_metrics"):
        refreshed.register("copied", before.execute(f"select * from marts.{table}")
                           .to_arrow_table())
        refreshed.execute(f"create table marts.{table} as select * from copied")
        refreshed.unregister("copied")
    build_month_marts(refreshed, APRIL, date(2025, 5, 1), "refresh", AS_OF)
    found = snapshot(refreshed)
    assert {(row[0], row[1]) for row in found["marts.csm_period_metrics"]} >= APRIL_PERIODS
    found_rows = periods_rows(found, APRIL_PERIODS)
    # The capacity plan's 12-month service level sums the month rows' hours (doubles) in
    # another order than the full build: equal to the last bits.
    plan, plan_rebuilt = found_rows.pop("marts.capacity_plan"), rebuilt.pop("marts.capacity_plan")
    assert found_rows == rebuilt
    assert len(plan) == len(plan_rebuilt) and all(
        value == (pytest.approx(other) if isinstance(other, float) else other)
        for row, other_row in zip(plan, plan_rebuilt, strict=True)
        for value, other in zip(row, other_row, strict=True))
    assert rebuilt["marts.csm_period_metrics"] and rebuilt["marts.quarantine"]


def test_a_one_month_build_reads_only_the_entries_its_periods_can_hold(pulled: dict) -> None:
    conn = loaded(pulled)
    every = conn.execute("select count(*) from intermediate.int_time_entries__named").fetchone()
    conn.execute("create or replace temp table wrk_periods as select "
                 "timestamptz '2025-04-01 00:00:00+02' as start_instant, "
                 "timestamptz '2025-05-01 00:00:00+02' as end_instant")
    set_entry_window(conn)
    start, end, inside = conn.execute(
        "select min(start_at), max(start_at), count(*) "
        "from intermediate.int_time_entries__named").fetchone()
    plan = conn.execute("explain analyze select count(*) from "
                        "intermediate.int_time_entries__named").fetchone()[1]
    clear_entry_window(conn)
    assert start >= datetime(2025, 3, 31, tzinfo=ZONE)
    assert end < datetime(2025, 5, 1, tzinfo=ZONE)
    assert 0 < inside < every[0] / 3
    # The window reaches the typed staging scans as a filter.
    assert plan.count("start_at>=") + plan.count("start_at >=") >= 2, plan
    # Outside the build every reader sees all history again.
    assert conn.execute("select count(*) from intermediate.int_time_entries__named"
                        ).fetchone() == every


def test_a_failed_build_leaves_no_entry_window_behind(pulled: dict) -> None:
    conn = loaded(pulled)
    every = conn.execute("select count(*) from intermediate.int_time_entries__named"
                         ).fetchone()
    # A working model after wrk_periods fails: the population's view is gone.
    conn.execute("drop view intermediate.int_people__csms")
    with pytest.raises(duckdb.CatalogException, match="int_people__csms"):
        build_month_marts(conn, APRIL, date(2025, 5, 1), "fails")
    assert conn.execute("select count(*) from intermediate.int_time_entries__named"
                        ).fetchone() == every


def test_the_window_reaches_past_the_last_period_by_the_onboarding_window(pulled: dict) -> None:
    """An account onboarded in the build's last period counts its `onboarding` hours of the
    next `onboarding_window_days` (docs/metrics.md, Onboarding): the window must hold them."""
    conn = loaded(pulled, new_year_entry=False)
    conn.execute("create or replace temp table wrk_periods as select "
                 "timestamptz '2025-04-01 00:00:00+02' as start_instant, "
                 "timestamptz '2025-05-01 00:00:00+02' as end_instant")
    set_entry_window(conn)
    reaches = conn.execute("select getvariable('entry_window_to')").fetchone()[0]
    clear_entry_window(conn)
    assert reaches == datetime(2025, 5, 1, tzinfo=ZONE) + timedelta(
        days=RULES.onboarding_window_days)
