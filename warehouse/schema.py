"""The warehouse's layout: schemas, raw tables, the run's settings table and the views.

Raw tables share one shape: the record's primary key, the instant that places it in a window
(for windowed streams), the record as the API sent it (JSON), lineage, and when the pipeline saw
it vanish from the source (`_deleted_at`, for APIs that send no tombstones). Staging and
intermediate models are views over them, so they never hold stale copies.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from connectors.streams import Stream
from transforms import VIEW_LAYERS, macro_paths, model_paths

SCHEMAS = ("raw", "staging", "intermediate", "marts")

# The list-shaped settings, as typed tables the models join (see pipelines/settings.py).
SETTINGS_TABLES = {
    "roster": pa.schema([("email", pa.string()), ("name", pa.string()),
                         ("annual_cost", pa.float64()), ("fte", pa.float64()),
                         ("start_date", pa.date32()), ("end_date", pa.date32())]),
    "roster_aliases": pa.schema([("alias", pa.string()), ("email", pa.string())]),
    "currency_rates": pa.schema([("currency", pa.string()), ("rate", pa.float64())]),
    "segments": pa.schema([("segment", pa.string()), ("lower_bound", pa.float64())]),
    "activity_keywords": pa.schema([("activity", pa.string()), ("keyword", pa.string()),
                                    ("priority", pa.int64())]),
    "account_aliases": pa.schema([("name", pa.string()), ("account_id", pa.string())]),
}


def ensure_schemas(conn: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        conn.execute(f"create schema if not exists {schema}")
    conn.execute("""
        create table if not exists raw.quarantine (
            source varchar not null, stream varchar not null, record_id varchar,
            reason varchar not null, record json, seen_at timestamptz not null,
            run_id varchar not null
        )""")
    # How far each incremental stream has read: advanced in the transaction that lands the data.
    conn.execute("""
        create table if not exists raw._state (
            source varchar not null, stream varchar not null, cursor_value varchar not null,
            updated_at timestamptz not null, run_id varchar not null
        )""")
    # The pipeline's own daily record of who owned each account, for CRMs without history.
    conn.execute("""
        create table if not exists raw.ownership_snapshots (
            snapshot_date date not null, source varchar not null, account_ref varchar not null,
            owner_ref varchar, run_id varchar not null
        )""")


def ensure_raw_table(conn: duckdb.DuckDBPyConnection, stream: Stream) -> str:
    table = f"raw.{stream.table}"
    conn.execute(f"""
        create table if not exists {table} (
            _pk varchar not null, _event_at timestamptz, _record json not null,
            _loaded_at timestamptz not null, _run_id varchar not null,
            _deleted_at timestamptz
        )""")
    # Tables landed by a version before deletions were tracked gain the column in place.
    conn.execute(f"alter table {table} add column if not exists _deleted_at timestamptz")
    return table


def write_settings(conn: duckdb.DuckDBPyConnection, values: dict[str, Any],
                   tables: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """The business rules the views read: scalars as one row of `staging.settings`, lists as
    `staging.<name>` tables (all replaced on every run)."""
    columns = ", ".join(f"cast(${name} as {_sql_type(value)}) as {name}"
                        for name, value in values.items())
    conn.execute(f"create or replace table staging.settings as select {columns}", values)
    for name, schema in SETTINGS_TABLES.items():
        rows = pa.Table.from_pylist((tables or {}).get(name, []), schema=schema)
        conn.register("settings_rows", rows)
        conn.execute(f"create or replace table staging.{name} as select * from settings_rows")
        conn.unregister("settings_rows")


def _sql_type(value: Any) -> str:
    """Explicit types, so that an unset (None) setting is still a typed column."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, list):
        return "varchar[]"
    return "varchar"


def apply_views(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create every staging and intermediate view.

    DuckDB binds a view when it is created, so a model must come after the models it reads,
    and must not bind against an older version of them: every existing view of these layers is
    dropped first. Rather than keep an order by hand, models that fail for a missing table are
    retried after the others until no more can be made; then the first real error is raised.
    """
    stale = conn.execute(
        "select schema_name, view_name from duckdb_views() where not internal "
        "and database_name = current_database() and schema_name in $layers",
        {"layers": list(VIEW_LAYERS)}).fetchall()
    for schema, view in stale:
        conn.execute(f'drop view if exists {schema}."{view}"')
    pending = [(layer, path) for layer in VIEW_LAYERS for path in model_paths(layer)]
    created: list[str] = []
    while pending:
        failed: list[tuple[str, Any]] = []
        errors: list[duckdb.Error] = []
        for layer, path in pending:
            try:
                conn.execute(f"create or replace view {layer}.{path.stem} as\n{path.read_text()}")
                created.append(f"{layer}.{path.stem}")
            except duckdb.CatalogException as error:  # a model it reads is not there yet
                failed.append((layer, path))
                errors.append(error)
        if len(failed) == len(pending):  # no progress: a real error, not an order problem
            layer, path = failed[0]
            raise RuntimeError(f"transforms/{layer}/{path.name}: {errors[0]}") from errors[0]
        pending = failed
    return created


def prepare(conn: duckdb.DuckDBPyConnection, streams: list[Stream], settings: dict[str, Any],
            settings_tables: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Everything the models need to exist before marts are built."""
    ensure_schemas(conn)
    for stream in streams:
        ensure_raw_table(conn, stream)
    write_settings(conn, settings, settings_tables)
    for path in macro_paths():  # shared formulas, before the models that use them
        conn.execute(path.read_text())
    apply_views(conn)
