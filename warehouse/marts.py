"""Building the month marts for a range of months, replaced in one transaction.

The models in `transforms/marts` run in order into temporary tables (`mart_<model>`); the
published tables then have the range's rows deleted and the new ones inserted inside the same
transaction, so readers see either the old range or the new one, and a re-run never duplicates.
"""

from __future__ import annotations

from datetime import date

import duckdb

from transforms import read_model
from warehouse.sql import run

# Working models, in the order they run; each reads the ones before it.
WORKING_MODELS = ("periods", "account_periods", "csm_hours")
MART_TABLES = ("csm_period_metrics", "team_period_metrics")
LINEAGE_COLUMNS = ("loaded_at", "run_id")


class MartSchemaError(RuntimeError):
    pass


def build_month_marts(
    conn: duckdb.DuckDBPyConnection, range_start: date, range_end: date, run_id: str
) -> dict[str, int]:
    """Rebuild every month in [range_start, range_end); returns rows written per table."""
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
            run(conn, f"delete from marts.{table} where period_grain = 'month' "
                "and period_start >= $range_start and period_start < $range_end", params)
            row = conn.execute(
                f"insert into marts.{table} by name select * from mart_{table}").fetchone()
            written[table] = int(row[0]) if row else 0
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return written


def _ensure_table(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = $name", {"name": table}).fetchone()
    if not exists or not exists[0]:
        conn.execute(f"create table marts.{table} as select * from mart_{table} limit 0")
        return
    wanted = _columns(conn, f"mart_{table}")
    present = _columns(conn, f"marts.{table}")
    if wanted != present:
        raise MartSchemaError(
            f"marts.{table} has columns {present}, but this version writes {wanted}. "
            f"Drop the table (drop table marts.{table}) and backfill every month again.")


def _columns(conn: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(f"describe {relation}").fetchall()]
