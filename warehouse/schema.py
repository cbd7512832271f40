"""The warehouse's layout: schemas, raw tables, the run's settings table and the views.

Raw tables share one shape: the record's primary key, the instant that places it in a window
(for windowed streams), the record as the API sent it (JSON), lineage, and when the pipeline saw
it vanish from the source (`_deleted_at`, for APIs that send no tombstones). Staging models
over them are typed tables, refreshed as records land (warehouse/staging.py); the other staging
models and the intermediate ones are views, so they never hold stale copies.
"""

from __future__ import annotations

from datetime import date
from typing import Any, get_args, get_origin

import duckdb
import pyarrow as pa

from connectors.streams import Stream
from pipelines.settings import Settings
from transforms import VIEW_LAYERS, macro_paths
from transforms.graph import model_graph
from warehouse.hours_cube import TABLES as HOURS_CUBE_TABLES
from warehouse.hours_cube import ensure_tables as ensure_hours_cube
from warehouse.sql import transaction
from warehouse.staging import PIPELINE_RAW_TABLES, ensure_current, record_table

SCHEMAS = ("raw", "staging", "intermediate", "marts")

# The list-shaped settings, as typed tables the models join: their names, columns and types are
# declared once, on the settings model (pipelines/settings.py).
_ARROW_TYPES = {str: pa.string(), int: pa.int64(), float: pa.float64(), date: pa.date32()}
SETTINGS_TABLES = {
    name: pa.schema([(column, _ARROW_TYPES[kind]) for column, kind in columns.items()])
    for name, columns in Settings.table_columns().items()
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
    # The fields each incremental stream's records were read with, beside its cursor.
    conn.execute("""
        create table if not exists raw._fields (
            source varchar not null, stream varchar not null, fields varchar not null,
            updated_at timestamptz not null, run_id varchar not null
        )""")
    # Every window of time entries landed (docs/metrics.md, Periods: a period whose months were
    # never pulled is `partial`): appended in the transaction that lands the window.
    conn.execute("""
        create table if not exists raw._windows (
            source varchar not null, stream varchar not null, window_start timestamptz not null,
            window_end timestamptz not null, landed_at timestamptz not null,
            run_id varchar not null
        )""")
    # The pipeline's own daily record of who owned each account, for CRMs without history.
    conn.execute("""
        create table if not exists raw.ownership_snapshots (
            snapshot_date date not null, source varchar not null, account_ref varchar not null,
            owner_ref varchar, run_id varchar not null
        )""")
    ensure_hours_cube(conn)  # the hours per (month, key) kept between marts builds


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
    declared = Settings.sql_columns()
    columns = ", ".join(
        f"cast(${name} as {_sql_type(declared.get(name, type(value)))}) as {name}"
        for name, value in values.items())
    conn.execute(f"create or replace table staging.settings as select {columns}", values)
    for name, schema in SETTINGS_TABLES.items():
        rows = pa.Table.from_pylist((tables or {}).get(name, []), schema=schema)
        conn.register("settings_rows", rows)
        conn.execute(f"create or replace table staging.{name} as select * from settings_rows")
        conn.unregister("settings_rows")


def _sql_type(kind: Any) -> str:
    """A setting's column type, from its declared Python type (so an unset setting is still a
    typed column); a value the model does not declare is typed by its own Python type."""
    if get_origin(kind) is list:
        return f"{_sql_type(get_args(kind)[0])}[]"
    if kind is list:
        return "varchar[]"
    return {bool: "boolean", int: "integer", float: "double", date: "date"}.get(kind, "varchar")


def pipeline_tables(streams: list[Stream]) -> set[str]:
    """The tables the pipeline itself creates, which models may read besides other models."""
    return ({f"raw.{stream.table}" for stream in streams}
            | PIPELINE_RAW_TABLES | HOURS_CUBE_TABLES | {"staging.settings"}
            | {f"staging.{name}" for name in SETTINGS_TABLES})


def apply_views(conn: duckdb.DuckDBPyConnection, streams: list[Stream]) -> list[str]:
    """(Re)create every staging and intermediate view, each after the models it reads (the
    typed staging tables are not views: warehouse/staging.py keeps them).

    DuckDB binds a view when it is created, so a model must come after the models it reads,
    and must not bind against an older version of them: every existing view of these layers is
    dropped first. The order is the model graph's (transforms/graph.py), parsed from the SQL:
    a cycle or an input that does not exist stops here, naming the file, before any view is
    made.
    """
    graph = model_graph()
    graph.check_sources(pipeline_tables(streams))
    stale = conn.execute(
        "select schema_name, view_name from duckdb_views() where not internal "
        "and database_name = current_database() and schema_name in $layers",
        {"layers": list(VIEW_LAYERS)}).fetchall()
    for schema, view in stale:
        conn.execute(f'drop view if exists {schema}."{view}"')
    created: list[str] = []
    for model in graph.models:
        if model.layer not in VIEW_LAYERS or record_table(model):
            continue
        try:
            conn.execute(f"create or replace view {model.relation} as\n{model.sql}")
        except duckdb.Error as error:
            raise RuntimeError(f"{model.file}: {error}") from error
        created.append(model.relation)
    return created


def seed_time_entry_windows(conn: duckdb.DuckDBPyConnection, streams: list[Stream],
                            timezone: str) -> None:
    """A warehouse whose time entries were landed before windows were recorded (raw._windows):
    every month holding a landed entry of a stream counts as landed for it, once, so upgrading
    does not turn its periods `partial` (docs/metrics.md, Periods)."""
    for stream in streams:
        if stream.write_mode != "replace_window":
            continue
        params = {"source": stream.source, "stream": stream.name, "tz": timezone}
        recorded = conn.execute("select count(*) from raw._windows "
                                "where source = $source and stream = $stream",
                                {"source": stream.source, "stream": stream.name}).fetchone()
        if recorded and recorded[0]:
            continue
        conn.execute(f"""
            insert into raw._windows
            select $source, $stream, timezone($tz, month), timezone($tz, month + interval 1 month),
                   now(), 'upgrade'
            from (select distinct date_trunc('month', timezone($tz, _event_at)) as month
                  from raw.{stream.table} where _event_at is not null)""", params)


def prepare(conn: duckdb.DuckDBPyConnection, streams: list[Stream], settings: dict[str, Any],
            settings_tables: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Everything the models need to exist before marts are built."""
    ensure_schemas(conn)
    for stream in streams:
        ensure_raw_table(conn, stream)
    write_settings(conn, settings, settings_tables)
    for path in macro_paths():  # shared formulas, before the models that use them
        conn.execute(path.read_text())
    model_graph().check_sources(pipeline_tables(streams))
    with transaction(conn):
        seed_time_entry_windows(conn, streams, settings.get("reporting_timezone", "UTC"))
        ensure_current(conn)  # typed staging tables a first run or a new definition rebuilds
    apply_views(conn, streams)
