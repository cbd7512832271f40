"""The hours cube kept between builds follows what landing does to a closed month: an entry
re-landed longer and one gone from its window reach the next one-month build's year, whichever
months that build rebuilds (warehouse/hours_cube.py, docs/architecture.md, Hours as a cube).

Real landing (warehouse/loading.py) of the fakes' pages over HTTP, real marts builds; the
expected hours are the entries' own lengths, read from typed staging.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import duckdb
import pytest

from tests.test_incremental_marts import AS_OF, loaded, pulled  # noqa: F401 (a fixture)
from tests.test_typed_staging import END, START, records, windows
from warehouse.loading import land
from warehouse.marts import build_month_marts

pytestmark = pytest.mark.connectors

LONGER = 3  # hours added to the re-landed entry


def year_hours(conn: duckdb.DuckDBPyConnection) -> float:
    row = conn.execute("select sum(hours_worked) from marts.team_period_metrics "
                       "where period_grain = 'year' and period_start = $start",
                       {"start": START}).fetchone()
    return float(row[0])


def february(pulled: dict) -> tuple[int, list[dict]]:  # noqa: F811
    index = next(i for i, window in enumerate(windows()) if window.start.month == 2)
    return index, records(pulled[("clockify__time_entries", index)][1])


def counted_february_entries(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, float]]:
    """Two Clockify entries of mid-February that count as a CSM's worked hours, with their
    lengths in hours."""
    return conn.execute("""
        select entry_id, date_diff('millisecond', start_at, stop_at) / 3600000.0
        from intermediate.int_time_entries__counted
        where source = 'clockify' and in_population and not is_leave
          and start_at >= '2025-02-05' and start_at < '2025-02-20'
          and stop_at - start_at < interval 12 hour
        order by entry_id limit 2""").fetchall()


def reland(conn: duckdb.DuckDBPyConnection, pulled: dict, longer: str, gone: str  # noqa: F811
           ) -> None:
    """February's Clockify window landed again: `longer` ends LONGER hours later, `gone` is no
    longer in it."""
    index, entries = february(pulled)
    stream = pulled[("clockify__time_entries", index)][0]
    changed = []
    for entry in copy.deepcopy(entries):
        entry_id = f"clockify:{entry['id']}"
        if entry_id == gone:
            continue
        if entry_id == longer:
            end = datetime.fromisoformat(entry["timeInterval"]["end"].replace("Z", "+00:00"))
            entry["timeInterval"]["end"] = (end + timedelta(hours=LONGER)).isoformat()
            entry["timeInterval"]["duration"] = None
        changed.append(entry)
    land(conn, stream, [changed], "relanded", windows()[index], allow_mass_delete=True)


def test_a_relanded_and_a_deleted_entry_reach_the_next_one_month_build(
        pulled: dict) -> None:  # noqa: F811
    conn = loaded(pulled, new_year_entry=False)
    build_month_marts(conn, START, END, "backfill", AS_OF)
    kept = [str(m) for (m,) in conn.execute(
        "select month_start from staging._hours_cube_months order by 1").fetchall()]
    # Every month closed by as_of that the periods cover (the trailing twelve months reach 2024).
    assert {"2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"} <= set(kept)
    before = year_hours(conn)
    (longer, _), (gone, gone_hours) = counted_february_entries(conn)

    reland(conn, pulled, longer, gone)
    april = END.replace(month=END.month - 1)
    build_month_marts(conn, april, END, "refresh", AS_OF)  # the year is rebuilt, February kept
    assert year_hours(conn) == pytest.approx(before + LONGER - gone_hours)

    # The same as a warehouse that never kept a month gives.
    fresh = loaded(pulled, new_year_entry=False)
    reland(fresh, pulled, longer, gone)
    build_month_marts(fresh, START, END, "fresh", AS_OF)
    assert year_hours(fresh) == pytest.approx(year_hours(conn))
    people = ("select csm_id, hours_worked, hours_on_accounts from marts.csm_period_metrics "
              "where period_grain in ('year', 'quarter') order by all")
    assert conn.execute(people).fetchall() == fresh.execute(people).fetchall()
