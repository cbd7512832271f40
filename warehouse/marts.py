"""Building the marts for a range of months, replaced in one transaction.

The models in `transforms/marts` run in order into temporary tables (`mart_<model>`). A range of
months touches its months and every quarter and year that overlaps them; the period tables then
have those periods' rows deleted and the new ones inserted inside the same transaction, so
readers see either the old periods or the new ones, and a re-run never duplicates.
"""

from __future__ import annotations

from datetime import date

import duckdb

from transforms import read_model
from warehouse.columns import comment_marts
from warehouse.sql import run

# Working models, in the order they run; each reads the ones before it.
WORKING_MODELS = ("periods", "entry_periods", "account_periods", "csm_hours", "csm_capacity")
# Tables keyed by period, in the order they are built (the team's reads the people's).
MART_TABLES = ("csm_period_metrics", "team_period_metrics", "account_period_metrics",
               "csm_activity_hours")
# Tables replaced whole on every build.
WHOLE_TABLES = ("quarantine",)
LINEAGE_COLUMNS = ("loaded_at", "run_id")


class MartSchemaError(RuntimeError):
    pass


def build_month_marts(
    conn: duckdb.DuckDBPyConnection, range_start: date, range_end: date, run_id: str
) -> dict[str, int]:
    """Rebuild the periods that the months [range_start, range_end) touch; returns the rows
    written per table."""
    params = {"range_start": range_start, "range_end": range_end, "run_id": run_id}
    written: dict[str, int] = {}
    conn.execute("begin transaction")
    try:
        for model in WORKING_MODELS:
            sql = read_model("marts", model)
            run(conn, f"create or replace temp table mart_{model} as\n{sql}", params)
        for table in MART_TABLES:
            sql = read_model("marts", table)
            run(conn, f"create or replace temp table mart_{table} as\n"
                f"select *, now() as loaded_at, $run_id as run_id from (\n{sql}\n)", params)
            _ensure_table(conn, table)
            conn.execute(f"delete from marts.{table} where (period_grain, period_start) in "
                         "(select period_grain, period_start from mart_periods)")
            row = conn.execute(
                f"insert into marts.{table} by name select * from mart_{table}").fetchone()
            written[table] = int(row[0]) if row else 0
        for table in WHOLE_TABLES:
            sql = read_model("marts", table)
            run(conn, f"create or replace table marts.{table} as\n"
                f"select *, now() as loaded_at, $run_id as run_id from (\n{sql}\n)", params)
            row = conn.execute(f"select count(*) from marts.{table}").fetchone()
            written[table] = int(row[0]) if row else 0
        comment_marts(conn)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return written


def _ensure_table(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Create the table, or add the columns a newer version writes; returns the added ones.

    Rows of periods not rebuilt since keep NULL in an added column. A column whose type changed,
    or that this version no longer writes, cannot be reconciled in place: that is an error
    telling the user what to do.
    """
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = $name", {"name": table}).fetchone()
    if not exists or not exists[0]:
        conn.execute(f"create table marts.{table} as select * from mart_{table} limit 0")
        return []
    wanted = _columns(conn, f"mart_{table}")
    present = dict(_columns(conn, f"marts.{table}"))
    changed = [name for name, kind in wanted if name in present and present[name] != kind]
    dropped = sorted(set(present) - {name for name, _ in wanted})
    if changed or dropped:
        raise MartSchemaError(
            f"marts.{table} was written by another version (columns changed: {changed}, "
            f"no longer written: {dropped}). Drop it (drop table marts.{table}) and backfill "
            "every month again.")
    added = [(name, kind) for name, kind in wanted if name not in present]
    for name, kind in added:
        conn.execute(f'alter table marts.{table} add column "{name}" {kind}')
    return [name for name, _ in added]


def _columns(conn: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(f"describe {relation}").fetchall()]
