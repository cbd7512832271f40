"""The warehouse's layout: schemas, raw tables, the run's settings table and the views.

Raw tables share one shape: the record's primary key, the instant that places it in a window
(for windowed streams), the record as the API sent it (JSON), and lineage. Staging and
intermediate models are views over them, so they never hold stale copies.
"""

from __future__ import annotations

from typing import Any

import duckdb

from connectors.streams import Stream
from transforms import VIEW_LAYERS, model_paths

SCHEMAS = ("raw", "staging", "intermediate", "marts")


def ensure_schemas(conn: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        conn.execute(f"create schema if not exists {schema}")
    conn.execute("""
        create table if not exists raw.quarantine (
            source varchar not null, stream varchar not null, record_id varchar,
            reason varchar not null, record json, seen_at timestamptz not null,
            run_id varchar not null
        )""")


def ensure_raw_table(conn: duckdb.DuckDBPyConnection, stream: Stream) -> str:
    table = f"raw.{stream.table}"
    conn.execute(f"""
        create table if not exists {table} (
            _pk varchar not null, _event_at timestamptz, _record json not null,
            _loaded_at timestamptz not null, _run_id varchar not null
        )""")
    return table


def write_settings(conn: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    """The business rules the views read, as one row (replaced on every run)."""
    columns = ", ".join(f"${name} as {name}" for name in values)
    conn.execute(f"create or replace table staging.settings as select {columns}", values)


def apply_views(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create every staging and intermediate view.

    DuckDB binds a view when it is created, so a model must come after the models it reads.
    Rather than keep an order by hand, models that fail for a missing table are retried after
    the others until no more can be made; then the first real error is raised.
    """
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


def prepare(conn: duckdb.DuckDBPyConnection, streams: list[Stream],
            settings: dict[str, Any]) -> None:
    """Everything the models need to exist before marts are built."""
    ensure_schemas(conn)
    for stream in streams:
        ensure_raw_table(conn, stream)
    write_settings(conn, settings)
    apply_views(conn)
