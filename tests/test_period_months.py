"""Counting at an instant per month, then summing a period's months, is counting the period.

`wrk_months` and `wrk_touchpoint_periods` run as the project's SQL on hand-made rows in an
in-memory DuckDB, in a time zone away from UTC, with `as_of` inside a month: every touchpoint
count per (period, person, account) must equal counting the touchpoints whose instants fall in
the period's own [start_instant, end_instant), computed here in Python (docs/metrics.md,
Periods and snapshots; Engagement).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from transforms import ROOT, macro_paths
from warehouse.sql import run

pytestmark = pytest.mark.fast

AS_OF = datetime(2025, 5, 10, 12, 0, tzinfo=UTC)


def working(conn: duckdb.DuckDBPyConnection, name: str, params: dict[str, object]) -> None:
    run(conn, f"create temp table {name} as\n{(ROOT / 'working' / f'{name}.sql').read_text()}",
        params)


@pytest.fixture
def built() -> tuple[duckdb.DuckDBPyConnection, list[tuple[str, str, datetime]]]:
    conn = duckdb.connect()
    conn.execute("set timezone = 'UTC'")
    for path in macro_paths():
        conn.execute(path.read_text())
    conn.execute("create schema staging; create schema intermediate")
    conn.execute("""create table staging.settings as select 'America/New_York' as
        reporting_timezone, 2 as fiscal_year_start_month""")
    conn.execute("""create table intermediate.int_time_entries__months_pulled as
        select 'clockify' as source, 'time_entries' as stream, date '2025-01-01' as month_start""")
    # Touchpoints on both sides of New York's month ends (04:00-05:00 UTC), before the range,
    # after as_of, and in the month of as_of.
    touchpoints = []
    day = datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    while day < datetime(2025, 6, 2, tzinfo=UTC):
        touchpoints.append(("alice" if day.day % 3 else "bob", f"A{day.day % 4}", day))
        day += timedelta(hours=37)
    for instant in ("2025-03-01 04:59:59+00", "2025-03-01 05:00:00+00",
                    "2025-05-10 11:59:59+00", "2025-05-10 12:00:00+00"):
        touchpoints.append(("carol", "A9", datetime.fromisoformat(instant)))
    conn.execute(
        "create table wrk_touchpoints (csm_id text, account_id text, occurred_at timestamptz)")
    conn.executemany("insert into wrk_touchpoints values (?, ?, ?)", touchpoints)
    params = {"range_start": date(2025, 1, 1), "range_end": date(2025, 6, 1), "as_of": AS_OF}
    for name in ("wrk_periods", "wrk_months", "wrk_touchpoint_periods"):
        working(conn, name, params)
    return conn, touchpoints


def test_each_period_counts_the_touchpoints_between_its_own_instants(built) -> None:
    conn, touchpoints = built
    periods = conn.execute(
        "select period_grain, period_start, start_instant, end_instant from wrk_periods").fetchall()
    assert {p[0] for p in periods} == {"month", "quarter", "year", "ttm"}
    expected: Counter[tuple[str, date, str, str]] = Counter()
    for grain, start, start_instant, end_instant in periods:
        for csm, account, at in touchpoints:
            if start_instant <= at < end_instant:
                expected[(grain, start, csm, account)] += 1
    found = {(g, s, c, a): n for g, s, c, a, n in conn.execute(
        "select period_grain, period_start, csm_id, account_id, touchpoints "
        "from wrk_touchpoint_periods").fetchall()}
    assert found == dict(expected)
    # By hand: New York's March begins at 05:00 UTC; as_of cuts May.
    assert found[("month", date(2025, 2, 1), "carol", "A9")] == 1
    assert found[("month", date(2025, 3, 1), "carol", "A9")] == 1
    assert found[("month", date(2025, 5, 1), "carol", "A9")] == 1


def test_the_months_run_from_local_midnight_and_stop_at_as_of(built) -> None:
    conn, _ = built
    months = conn.execute(
        "select month_start, start_instant, end_instant from wrk_months order by 1").fetchall()
    first_ttm = conn.execute(
        "select min(period_start) from wrk_periods").fetchone()[0]
    assert months[0][0] == first_ttm
    assert months[-1][0] == date(2025, 5, 1) and months[-1][2] == AS_OF
    march = next(m for m in months if m[0] == date(2025, 3, 1))
    assert march[1] == datetime(2025, 3, 1, 5, tzinfo=UTC)
    assert march[2] == datetime(2025, 4, 1, 4, tzinfo=UTC)  # daylight saving time by then
