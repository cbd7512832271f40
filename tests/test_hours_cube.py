"""The hours cube kept between builds (warehouse/hours_cube.py, docs/architecture.md): a month
closed by `as_of` is split from entries once and read back until one of its entries changes;
the keys are resolved by each build, so a rule change moves kept hours without recomputing.

Real DuckDB, the real models (the time-entry views, `wrk_entry_keys`, `wrk_entry_months`,
`wrk_entry_periods`) and the real refresh over hand-made staging rows; the expected
milliseconds are worked out by hand below.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from pipelines.settings import Settings
from tests.entry_staging import HOUR, WORKING, entry, resolving_views, staged_time_entries
from transforms import ROOT
from warehouse import hours_cube
from warehouse.schema import write_settings

pytestmark = pytest.mark.fast

SF_A, INITECH = "sf:001000000000000AAA", "sf:001000000000000III"
AS_OF = datetime(2025, 2, 15, tzinfo=UTC)
INTERMEDIATE = ("int_accounts__by_name", "int_activities__project_names",
                "int_time_entries__projects", "int_time_entries__tags",
                "int_time_entries__keyed", "int_time_entries__keys", "int_time_entries__accounts",
                "int_time_entries__activities", "int_time_entries__resolved")


ENTRIES = [
    entry("toggl:1", "QBR prep sf:001000000000000AAA", "2025-01-06 09:00:00+00",
          "2025-01-06 11:00:00+00"),
    # Project "Initech": no account until an alias (or the account's name) says which.
    entry("toggl:2", "call", "2025-01-08 09:00:00+00", "2025-01-08 10:00:00+00", "p2"),
    entry("toggl:3", "call", "2025-01-09 09:00:00+00", "2025-01-09 13:00:00+00", "p2"),
    # Across January's end: 1 h in January, 2 h in February.
    entry("toggl:4", "call", "2025-01-31 23:00:00+00", "2025-02-01 02:00:00+00", "p2"),
    # February, before and after as_of (the open month counts to as_of: 0.5 h of this one).
    entry("toggl:5", "QBR sf:001000000000000AAA", "2025-02-14 23:30:00+00",
          "2025-02-15 01:00:00+00"),
]


def connect(aliases: dict[str, str] | None = None, timezone: str = "UTC",
            colliding_hashes: bool = False) -> duckdb.DuckDBPyConnection:
    conn = staged_time_entries(
        Settings(account_aliases=aliases or {}, reporting_timezone=timezone), ENTRIES)
    resolving_views(conn, [(SF_A, "Acme"), (INITECH, "Initrode Corp")], INTERMEDIATE,
                    colliding_hashes)
    conn.execute("""create temp table wrk_periods as
        select 'month' as period_grain, date '2025-01-01' as period_start,
               date '2025-02-01' as period_end, $as_of::timestamptz as as_of
        union all
        select 'month', date '2025-02-01', date '2025-03-01', $as_of::timestamptz""",
                 {"as_of": AS_OF})
    return conn


def retype(conn: duckdb.DuckDBPyConnection) -> None:
    """What typing a changed record does to its key's hash."""
    conn.execute("update staging.stg_toggl__time_entries set key_hash = hash(entry_key("
                 "source, user_id, project_id, tag_ids, description, entry_type))")


def build(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """What a marts build does: refresh the cube, then run the hours' working models."""
    refreshed = hours_cube.refresh(conn, AS_OF)
    for name in WORKING:
        conn.execute(f"create or replace temp table {name} as\n"
                     + (ROOT / "working" / f"{name}.sql").read_text())
    return refreshed


def hours(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str | None], int]:
    """Milliseconds by (month, account), from the working table the marts read."""
    return {(str(month), account): ms for month, account, ms in conn.execute(
        "select period_start, account_id, sum(milliseconds) from wrk_entry_periods "
        "group by all").fetchall()}


def kept(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {str(month): ms for month, ms in conn.execute(
        "select month_start, sum(milliseconds) from staging._hours_cube group by all"
    ).fetchall()}


EXPECTED = {("2025-01-01", SF_A): 2 * HOUR, ("2025-01-01", None): 6 * HOUR,
            ("2025-02-01", None): 2 * HOUR, ("2025-02-01", SF_A): HOUR // 2}


@pytest.mark.parametrize("colliding_hashes", [False, True])
def test_a_closed_month_is_kept_and_read_back(colliding_hashes: bool) -> None:
    conn = connect(colliding_hashes=colliding_hashes)
    # January is closed by as_of: split once and kept; February is open: never kept.
    assert build(conn) == ["2025-01-01"]
    assert kept(conn) == {"2025-01-01": 8 * HOUR}
    assert hours(conn) == EXPECTED
    # Nothing changed: the next build reads January back and splits only February.
    assert build(conn) == []
    assert hours(conn) == EXPECTED
    # Two keys of January whatever their hashes (description differs), kept apart.
    (keys,) = conn.execute("select count(*) from staging._hours_cube").fetchone()
    assert keys == 2


BY_KEY = ("select month_start, cast(entry_key as varchar), milliseconds from wrk_entry_months "
          "inner join wrk_entry_keys using (key_id)")


def test_the_kept_month_is_what_splitting_gives() -> None:
    conn = connect()
    build(conn)
    with_cube = conn.execute(BY_KEY).fetchall()
    conn.execute("delete from staging._hours_cube_months")  # nothing kept: all split
    conn.execute("delete from staging._hours_cube")
    for name in WORKING:
        conn.execute(f"create or replace temp table {name} as\n"
                     + (ROOT / "working" / f"{name}.sql").read_text())
    split = conn.execute(BY_KEY).fetchall()
    assert sorted(with_cube) == sorted(split)
    assert len(split) == 4  # two keys in each month


def test_a_relanded_a_deleted_and_a_new_entry_change_their_month() -> None:
    conn = connect()
    build(conn)
    # Re-landed with a later stop: 1 h more in January.
    conn.execute("update staging.stg_toggl__time_entries set stop_at = stop_at + interval 1 hour "
                 "where entry_id = 'toggl:1'")
    assert build(conn) == ["2025-01-01"]
    assert hours(conn)[("2025-01-01", SF_A)] == 3 * HOUR
    # Deleted (gone from typed staging): its 4 h leave January.
    conn.execute("delete from staging.stg_toggl__time_entries where entry_id = 'toggl:3'")
    assert build(conn) == ["2025-01-01"]
    assert hours(conn)[("2025-01-01", None)] == 2 * HOUR
    assert kept(conn) == {"2025-01-01": 5 * HOUR}
    # A new entry of an existing key, landed late into the closed month.
    conn.execute("insert into staging.stg_toggl__time_entries values ('toggl:6', 'toggl:6', "
                 "'toggl', 'u1', 'p2', 'call', [], '2025-01-20 09:00:00+00', "
                 "'2025-01-20 09:30:00+00', 'REGULAR', null)")
    retype(conn)
    assert build(conn) == ["2025-01-01"]
    assert hours(conn)[("2025-01-01", None)] == 2 * HOUR + HOUR // 2
    # A changed key (the entry moved to another project) changes its month too.
    conn.execute("update staging.stg_toggl__time_entries set project_id = 'p1', "
                 "description = 'QBR sf:001000000000000AAA' where entry_id = 'toggl:6'")
    retype(conn)
    assert build(conn) == ["2025-01-01"]
    assert hours(conn)[("2025-01-01", SF_A)] == 3 * HOUR + HOUR // 2


def test_every_entry_deleted_empties_the_month() -> None:
    conn = connect()
    build(conn)
    conn.execute("delete from staging.stg_toggl__time_entries where start_at < '2025-02-01'")
    assert build(conn) == ["2025-01-01"]
    assert kept(conn) == {}
    assert not any(month == "2025-01-01" for month, _ in hours(conn))


def test_a_rule_change_moves_kept_hours_without_recomputing() -> None:
    conn = connect()
    build(conn)
    assert hours(conn)[("2025-01-01", None)] == 6 * HOUR
    # An alias is added (a settings change): a backfill resolves the kept keys again.
    settings = Settings(account_aliases={"Initech": INITECH})
    write_settings(conn, settings.for_warehouse(), settings.tables())
    assert build(conn) == []  # the cube holds unresolved keys: nothing to recompute
    assert hours(conn) == {("2025-01-01", SF_A): 2 * HOUR, ("2025-01-01", INITECH): 6 * HOUR,
                           ("2025-02-01", INITECH): 2 * HOUR, ("2025-02-01", SF_A): HOUR // 2}


def test_a_changed_time_zone_recomputes_every_month() -> None:
    conn = connect()
    build(conn)
    settings = Settings(reporting_timezone="America/New_York")
    write_settings(conn, settings.for_warehouse(), settings.tables())
    # In New York January ends at 05:00 UTC on 1 February: toggl:4 is all January's (3 h).
    assert build(conn) == ["2025-01-01"]
    assert kept(conn) == {"2025-01-01": 10 * HOUR}
    assert hours(conn)[("2025-01-01", None)] == 8 * HOUR
