"""The time-entry reject rule (macro entry_reject_reason, docs/metrics.md, Hours) and the
quarantine of a one-month build: an entry is longer than 24 hours by the time elapsed, whatever
the session's time zone, and a build of one month still quarantines every rejected entry of
history (the quarantine reads the entries' instants from typed staging, not through the build's
entry window)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import duckdb
import pytest

from tests.test_engagement_marts import ACTIVITIES, CUSTOMERS, MAR, NAMES, OWNERSHIP, build
from transforms import macro_paths
from warehouse.marts import build_month_marts

pytestmark = pytest.mark.fast

LONG = "longer than 24 hours"


@pytest.fixture
def macros() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as conn:
        for path in macro_paths():
            conn.execute(path.read_text())
        yield conn


def reason(conn: duckdb.DuckDBPyConnection, start: str, stop: str | None) -> str | None:
    row = conn.execute("select entry_reject_reason(cast($start as timestamptz), "
                       "cast($stop as timestamptz))", {"start": start, "stop": stop}).fetchone()
    return row[0] if row else "<no row>"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_an_entry_is_too_long_by_the_time_elapsed_whatever_the_session_time_zone(
        macros: duckdb.DuckDBPyConnection, zone: str) -> None:
    macros.execute(f"set TimeZone = '{zone}'")
    # New York springs forward on 2024-03-10 and falls back on 2024-11-03: a local day of 23
    # and one of 25 hours. Subtracting the instants gave a calendar interval in the session's
    # zone (1 day 1 hour for the first, 23:30 for the second).
    assert reason(macros, "2024-03-10 00:00:00-05", "2024-03-11 01:00:00-04") is None  # 24 h
    assert reason(macros, "2024-11-03 00:00:00-04", "2024-11-03 23:30:00-05") == LONG  # 24.5 h
    assert reason(macros, "2024-05-01 08:00:00+00", "2024-05-02 08:00:00+00") is None  # 24 h
    assert reason(macros, "2024-05-01 08:00:00+00", "2024-05-02 08:00:00.000001+00") == LONG
    assert reason(macros, "2024-05-01 08:00:00+00", "2024-05-01 08:00:00+00") == (
        "zero or negative length")
    assert reason(macros, "2024-05-01 08:00:00+00", None) is None  # running
    macros.execute("reset TimeZone")


REJECTED = [  # (entry id, start, stop, reason), far from March 2025 and in it
    ("toggl:old-zero", datetime(2023, 2, 1, 9, tzinfo=UTC), datetime(2023, 2, 1, 9, tzinfo=UTC),
     "zero or negative length"),
    ("toggl:long", datetime(2024, 6, 1, 9, tzinfo=UTC), datetime(2024, 6, 2, 10, tzinfo=UTC),
     LONG),
    ("toggl:no-start", None, datetime(2025, 3, 5, 10, tzinfo=UTC), "no readable start"),
    ("toggl:march-negative", datetime(2025, 3, 5, 10, tzinfo=UTC),
     datetime(2025, 3, 5, 9, tzinfo=UTC), "zero or negative length"),
]
KEPT = [("toggl:fine", datetime(2023, 2, 1, 9, tzinfo=UTC), datetime(2023, 2, 1, 17, tzinfo=UTC))]


def test_a_one_month_build_quarantines_the_rejected_entries_of_all_history() -> None:
    with duckdb.connect(":memory:") as conn:
        build(conn, ACTIVITIES, OWNERSHIP, CUSTOMERS, NAMES)  # January to March 2025
        conn.executemany(
            "insert into staging.stg_toggl__time_entries (_pk, entry_id, source, user_id, "
            "description, tag_ids, start_at, stop_at, entry_type) "
            "values ($id, $id, 'toggl', 'u1', '', [], $start, $stop, 'REGULAR')",
            [{"id": i, "start": start, "stop": stop}
             for i, start, stop, *_ in [*REJECTED, *KEPT]])
        build_month_marts(conn, MAR, date(2025, 4, 1), "march",
                          datetime(2025, 4, 1, tzinfo=UTC))
        quarantined = conn.execute(
            "select record_id, reason from marts.quarantine where stream = 'time_entries' "
            "order by record_id").fetchall()
    assert quarantined == sorted((i, why) for i, _, _, why in REJECTED)
