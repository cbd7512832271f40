"""The hours cube kept between builds: counted milliseconds per (month, resolution key).

A marts build used to split every entry of its periods into months each time. Milliseconds are
exact integers and every period's boundaries are month instants, so a month closed by `as_of`
has the same hours in every build until one of its entries changes: it is kept here
(`staging._hours_cube`), with a fingerprint of the entries it was computed from
(`staging._hours_cube_months`). Before the working models run, `refresh` recomputes the closed
months of the build whose fingerprint changed (entries landed, re-landed or deleted since);
`wrk_entry_months` then reads the kept months and splits only the open one (the month of
`as_of`) from entries. The key is kept unresolved (its hash and the key itself): its person,
account, activity and leave are resolved by each build (`wrk_entry_keys`), so a changed rule or
CRM name moves the hours with no recomputation (docs/architecture.md, Hours as a cube).

The cube is dropped whole when what it was computed with changes: the SQL that splits entries,
the macros, the time-entry key's models (typed staging hashes it) or the reporting time zone.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from datetime import datetime

import duckdb

from transforms import ROOT, macro_paths
from warehouse.sql import run

FOLDER = ROOT / "hours_cube"
CUBE = "staging._hours_cube"
MONTHS = "staging._hours_cube_months"
TABLES = frozenset({CUBE, MONTHS})
STALE = "hours_cube_stale"  # the months a refresh recomputes (a temporary table)
# The models the kept keys and their hashes come from.
KEY_MODELS = (ROOT / "intermediate" / "int_time_entries__keyed.sql",
              ROOT / "staging" / "stg_toggl__time_entries.sql",
              ROOT / "staging" / "stg_clockify__time_entries.sql")
KEY_TYPE = ("struct(source varchar, user_id varchar, project_id varchar, tag_ids varchar[], "
            "description varchar, entry_type varchar)")  # int_time_entries__keyed's entry_key


def ensure_tables(conn: duckdb.DuckDBPyConnection, key_type: str = KEY_TYPE) -> None:
    """The cube and its months, empty in a new warehouse (every month is then split fresh)."""
    conn.execute("create schema if not exists staging")
    conn.execute(f"""
        create table if not exists {CUBE} (
            month_start date not null, key_hash ubigint not null,
            entry_key {key_type} not null, milliseconds bigint not null
        )""")
    conn.execute(f"""
        create table if not exists {MONTHS} (
            month_start date not null, entries bigint not null, fingerprint hugeint not null,
            definition varchar not null, computed_at timestamptz not null
        )""")


def definition(conn: duckdb.DuckDBPyConnection) -> str:
    """What the kept months were computed with besides the entries."""
    row = conn.execute("select reporting_timezone from staging.settings").fetchone()
    parts = [(FOLDER / "month_hours.sql").read_text(), *(path.read_text() for path in KEY_MODELS),
             *(path.read_text() for path in macro_paths()), str(row[0] if row else "")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _match_key_type(conn: duckdb.DuckDBPyConnection) -> None:
    """A key whose fields changed (the key's model, or a relation standing for it) makes the
    kept keys another type: the cube is made anew, empty, with the key's type."""
    row = conn.execute("describe select entry_key from intermediate.int_time_entries__keyed"
                       ).fetchone()
    wanted = str(row[1]) if row else KEY_TYPE
    kept = {name: kind for name, kind, *_ in conn.execute(f"describe {CUBE}").fetchall()}
    if kept.get("entry_key") != wanted:
        conn.execute(f"drop table {CUBE}")
        conn.execute(f"drop table {MONTHS}")
        ensure_tables(conn, wanted)


def refresh(conn: duckdb.DuckDBPyConnection, as_of: datetime) -> list[str]:
    """Bring the cube's months of the build (`wrk_periods`) closed by `as_of` up to date with
    the entries, in the caller's transaction; returns the months recomputed (ISO dates)."""
    ensure_tables(conn)
    _match_key_type(conn)
    digest = definition(conn)
    if conn.execute(f"select count(*) from {MONTHS} where definition <> $d",
                    {"d": digest}).fetchone()[0]:
        conn.execute(f"delete from {CUBE}")
        conn.execute(f"delete from {MONTHS}")
    bounds = conn.execute("""
        select min(local_midnight(period_start, settings.reporting_timezone))
                   - max_entry_length(),
               max(local_midnight(period_end, settings.reporting_timezone))
        from wrk_periods cross join staging.settings as settings""").fetchone()
    if not bounds or bounds[0] is None:
        return []
    window = {"entries_from": bounds[0], "entries_to": bounds[1]}
    run(conn, f"create or replace temp table {STALE} as\n"
              f"select current.* from (\n{(FOLDER / 'month_fingerprints.sql').read_text()}\n)"
              f" as current\nleft join {MONTHS} as kept using (month_start)\n"
              "where kept.month_start is null or kept.entries <> current.entries"
              " or kept.fingerprint <> current.fingerprint", window)
    try:
        stale = [row[0] for row in conn.execute(
            f"select month_start from {STALE} order by month_start").fetchall()]
        if not stale:
            return []
        row = conn.execute(f"select min(start_instant) - max_entry_length(), max(end_instant) "
                           f"from {STALE}").fetchone()
        conn.execute(f"delete from {CUBE} where month_start in (select month_start from {STALE})")
        conn.execute(f"delete from {MONTHS} "
                     f"where month_start in (select month_start from {STALE})")
        run(conn, f"insert into {CUBE} by name\n{(FOLDER / 'month_hours.sql').read_text()}",
            {"entries_from": row[0], "entries_to": row[1]})
        conn.execute(f"insert into {MONTHS} select month_start, entries, fingerprint, $d, now() "
                     f"from {STALE}", {"d": digest})
        return [month.isoformat() for month in stale]
    finally:
        # After an error the transaction is aborted, and its rollback drops the table anyway:
        # the error raised is the block's own.
        with suppress(duckdb.Error):
            conn.execute(f"drop table if exists temp.{STALE}")
