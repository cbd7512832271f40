"""Typed staging tables: each record is typed once, in the transaction that lands it.

A staging model that reads a raw table of records as the API sent them (`raw.<stream>`, JSON)
is a table, `staging.<model>`, not a view: a marts build reads its typed columns and never
parses JSON. Each such model carries its raw row's key (`_pk`). When a pull lands, the loader
refreshes the staging tables of that stream, in the same transaction as the raw rows, for
exactly what the pull touched (`refresh`): the model's SQL runs with its `raw.<stream>`
reference standing for the touched raw rows, and replaces the staging rows of those keys.

Each table's definition hash is kept in `staging._models`: the model's SQL, the macros and the
values of the settings it reads (`settings.<name>`). A table whose hash no longer matches (a
first run, an upgraded model, a changed owner field) is rebuilt whole, from every raw row, the
next time it is refreshed or `ensure_current` runs (before every marts build). Staging models
that read only the pipeline's own typed tables (`raw.ownership_snapshots`) stay views.
"""

from __future__ import annotations

import hashlib
import json
import re

import duckdb

from transforms import macro_paths
from transforms.graph import Model, model_graph, strip_sql
from warehouse.sql import run

# Raw tables the pipeline writes itself, already typed: not records to type.
PIPELINE_RAW_TABLES = frozenset({"raw.quarantine", "raw._state", "raw.ownership_snapshots",
                                 "raw._windows"})
# The touched keys of a refresh: a temporary table of one column, `_pk`.
SLICE = "staging_slice"
_SETTINGS_READ = re.compile(r"\bsettings\s*\.\s*([a-z_]\w*)", re.IGNORECASE)


def record_table(model: Model) -> str | None:
    """The raw table of API records a staging model types, if it reads one."""
    if model.layer != "staging":
        return None
    tables = sorted(name for name in model.inputs
                    if name.startswith("raw.") and name not in PIPELINE_RAW_TABLES)
    if len(tables) > 1:
        raise ValueError(f"{model.file}: a staging model types one raw table, not {tables}")
    return tables[0] if tables else None


def typed_models(table: str | None = None) -> list[Model]:
    """The staging models that are typed tables (of `raw.<table>` only, when given)."""
    return [model for model in model_graph().layer("staging")
            if (found := record_table(model)) and (table is None or found == table)]


def _ensure_meta(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("create schema if not exists staging")
    conn.execute("""
        create table if not exists staging._models (
            model varchar not null, definition_hash varchar not null,
            refreshed_at timestamptz not null
        )""")


def _exists(conn: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    row = conn.execute("select count(*) from duckdb_tables() where not temporary "
                       "and database_name = current_database() and schema_name = $schema "
                       "and table_name = $name", {"schema": schema, "name": name}).fetchone()
    return bool(row and row[0])


def definition_hash(conn: duckdb.DuckDBPyConnection, model: Model) -> str | None:
    """What the table's rows depend on besides the raw rows; None while a setting it reads is
    not written yet, in a new warehouse or one an older version wrote (the table then waits for
    the next marts build)."""
    parts = [model.sql, *(path.read_text() for path in macro_paths())]
    if "staging.settings" in model.inputs:
        if not _exists(conn, "staging.settings"):
            return None
        names = sorted({name.lower() for name in _SETTINGS_READ.findall(strip_sql(model.sql))})
        written = {row[0] for row in conn.execute("describe staging.settings").fetchall()}
        if not set(names) <= written:  # settings an older version did not have: not written yet
            return None
        columns = ", ".join(f'"{name}"' for name in names) or "*"
        row = conn.execute(f"select {columns} from staging.settings").fetchone()
        parts.append(json.dumps(dict(zip(names, row or (), strict=False)), default=str))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _stored_hash(conn: duckdb.DuckDBPyConnection, model: Model) -> str | None:
    row = conn.execute("select definition_hash from staging._models where model = $model",
                       {"model": model.name}).fetchone()
    return row[0] if row else None


def _sliced(model: Model, table: str) -> str:
    """The model's SQL with its raw table standing for the touched rows only."""
    pattern = re.compile(r"\b" + r"\s*\.\s*".join(map(re.escape, table.split("."))) + r"\b",
                         re.IGNORECASE)
    touched = f"(select * from {table} where _pk in (select _pk from {SLICE}))"
    return pattern.sub(touched, model.sql)


def create_macros(conn: duckdb.DuckDBPyConnection) -> None:
    """The shared macros the models may use (`create or replace`)."""
    for path in macro_paths():  # `create or replace`: the models may use them
        conn.execute(path.read_text())


def _rebuild(conn: duckdb.DuckDBPyConnection, model: Model, digest: str) -> None:
    relation = f"staging.{model.name}"
    old_view = conn.execute(
        "select count(*) from duckdb_views() where database_name = current_database() "
        "and schema_name = 'staging' and view_name = $name", {"name": model.name}).fetchone()
    if old_view and old_view[0]:  # an older version made it a view
        conn.execute(f"drop view {relation}")
    try:
        conn.execute(f"create or replace table {relation} as\n{model.sql}")
    except duckdb.Error as error:
        raise RuntimeError(f"{model.file}: {error}") from error
    _record(conn, model, digest)


def _record(conn: duckdb.DuckDBPyConnection, model: Model, digest: str) -> None:
    conn.execute("delete from staging._models where model = $model", {"model": model.name})
    conn.execute("insert into staging._models values ($model, $digest, now())",
                 {"model": model.name, "digest": digest})


def refresh(conn: duckdb.DuckDBPyConnection, table: str, sliced: bool,
            macros: bool = True) -> list[str]:
    """Bring the staging tables of `table` (`raw.<stream>`) up to date with its raw rows, in the
    caller's transaction: with `sliced`, only the keys in the temporary table `staging_slice`
    (the rows a pull touched: their staging rows are replaced, or removed when the model no
    longer yields them); else whole. A table whose definition changed is rebuilt whole either
    way. Returns the models refreshed (a model waiting for settings is skipped). `macros`: False
    when the caller made them on this connection already (the loader, once a connection)."""
    _ensure_meta(conn)
    models = typed_models(table)
    if models and macros:
        create_macros(conn)
    done = []
    for model in models:
        digest = definition_hash(conn, model)
        if digest is None:
            conn.execute("delete from staging._models where model = $model",
                         {"model": model.name})
            continue
        relation = f"staging.{model.name}"
        if not sliced or _stored_hash(conn, model) != digest or not _exists(conn, relation):
            _rebuild(conn, model, digest)
        else:
            conn.execute(f"delete from {relation} where _pk in (select _pk from {SLICE})")
            try:
                run(conn, f"insert into {relation} by name\n{_sliced(model, table)}")
            except duckdb.Error as error:
                raise RuntimeError(f"{model.file}: {error}") from error
            _record(conn, model, digest)
        done.append(model.name)
    return done


def ensure_current(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Rebuild whole every staging table that is missing or whose definition or settings
    changed; a current table is left as it is. Returns the tables rebuilt."""
    _ensure_meta(conn)
    create_macros(conn)
    rebuilt = []
    for model in typed_models():
        digest = definition_hash(conn, model)
        if digest is None:
            raise RuntimeError(f"{model.file}: staging.settings is not written yet")
        if _stored_hash(conn, model) == digest and _exists(conn, f"staging.{model.name}"):
            continue
        _rebuild(conn, model, digest)
        rebuilt.append(model.name)
    return rebuilt
