"""A fingerprint of everything the retention drivers' units read, cheap enough to take on every
build, so a build that changed none of it reuses the kept fit without assembling the units
(warehouse/driver_fits.py; docs/architecture.md, Dagster: the retention drivers' fit).

Assembling the units (transforms/steering/retention_driver_units.sql) resolves the key of every
time entry in history for the onboarding hours: about a second of CPU at scale 1, on every build,
though the daily refresh of an open month rarely changes a unit. The units are a function of the
relations the query reads, so the fingerprint is taken over those, each as its row count and the
sum of a hash of every row (one query):

- every table under the views the query reads (the model graph's inputs, followed through every
  view), whole: settings, CRM records, feedback, users, projects, tags...;
- the typed time entries as (key_hash, start_at, stop_at), as the hours cube fingerprints its
  months (`key_hash` is the hash of the entry's resolution key, computed when it was typed): a
  landed, re-landed or deleted entry changes it;
- of the marts, the rows the units can read: every period's grain, bounds and status from
  `team_period_metrics`, and every column but lineage of the quarter rows of the other marts up
  to the last complete quarter's end (the open quarter, rebuilt daily, is no unit's); the marts'
  column names and types (the units' columns follow them);

and the SQL of the units, of every view under them and of the macros, and the fitting code and
libraries. Equal fingerprints: the same units, so the same fit. A different one need not mean other
units (an entry landed in a month no unit reads changes it too): the units are then assembled and
their own fingerprint decides whether to fit again (driver_fits.fit_or_reuse). A pull lands such
rows (the day's ownership snapshot, under the CSM population, at least): what this saves is the
units of a build with nothing landed since the last one (a re-run, a retry, another range).
"""

from __future__ import annotations

import hashlib
import json

import duckdb

from transforms import macro_paths
from transforms.graph import cached_references, model_graph
from warehouse.sql import literal

LINEAGE = ("as_of", "loaded_at", "run_id")
TEAM = "marts.team_period_metrics"
# What a typed time entry contributes: its resolution key's hash and its instants.
ENTRY_COLUMNS = ("key_hash", "start_at", "stop_at")


def inputs_fingerprint(conn: duckdb.DuckDBPyConnection, units_sql: str, code: str) -> str | None:
    """The digest of what `units_sql` reads, with `code` (the fitting code and libraries); None
    when a relation it reads cannot be fingerprinted (a view no model defines, a table not
    there): the units are then assembled, as before this fingerprint."""
    tables, texts = tables_read(conn, units_sql)
    if tables is None:
        return None
    present: dict[str, list[str]] = {}
    marts: list[list[str]] = []  # the marts' columns and types: the units' columns follow them
    for schema, table, column, kind in conn.execute(
            "select schema_name, table_name, column_name, data_type from duckdb_columns() "
            "where database_name = current_database() "
            "order by schema_name, table_name, column_index").fetchall():
        present.setdefault(f"{schema}.{table}", []).append(column)
        if schema == "marts":
            marts.append([table, column, kind])
    if any(name not in present for name in tables):
        return None  # the units cannot be assembled either: they say why
    parts = [_part(name, present[name]) for name in sorted(tables)]
    rows = conn.execute(" union all ".join(parts)).fetchall() if parts else []
    digest = hashlib.sha256()
    digest.update(json.dumps({
        "sql": [units_sql, *sorted(texts)],
        "macros": [path.read_text() for path in macro_paths()],
        "code": code,
        "columns": marts,
        "tables": sorted([str(name), int(count), str(total)] for name, count, total in rows),
    }).encode())
    return digest.hexdigest()


def tables_read(conn: duckdb.DuckDBPyConnection,
                sql: str) -> tuple[set[str] | None, list[str]]:
    """The tables under `sql` (through every view a model defines) and the views' SQL."""
    models = {model.relation: model for model in model_graph().models}
    views = {f"{schema}.{name}" for schema, name in conn.execute(
        "select schema_name, view_name from duckdb_views() "
        "where database_name = current_database() and not internal").fetchall()}
    tables: set[str] = set()
    texts: list[str] = []
    seen: set[str] = set()
    pending = list(cached_references(sql))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in views:
            model = models.get(name)
            if model is None:
                return None, []
            texts.append(model.sql)
            pending.extend(model.inputs)
        else:
            tables.add(name)
    return tables, texts


def _part(table: str, present: list[str]) -> str:
    """A select of the table's name, row count and row-hash sum (`present`: its columns)."""
    schema = table.split(".", 1)[0]
    label = literal(table)
    if table == TEAM:
        return (f"select {label}, count(*), sum(hash(period_grain, period_start, period_end, "
                f"period_status)) from {table}")
    if schema == "marts":
        kept = ", ".join(f'"{column}"' for column in present if column not in LINEAGE)
        rows = ""
        if {"period_grain", "period_end"} <= set(present):
            rows = (" where period_grain = 'quarter' and period_end <= (select max(period_end) "
                    f"from {TEAM} where period_grain = 'quarter' "
                    "and period_status = 'complete')")
        return f"select {label}, count(*), sum(hash({kept})) from {table}{rows}"
    if set(ENTRY_COLUMNS) <= set(present):
        return (f"select {label}, count(*), sum(hash({', '.join(ENTRY_COLUMNS)})) "
                f"from {table}")
    return f"select {label}, count(*), sum(hash(row)) from {table} as row"
