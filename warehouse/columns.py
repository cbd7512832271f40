"""What every mart table and column means, read from `transforms/marts/columns.toml`.

That file is the one source of truth: the warehouse's `COMMENT ON` statements, the Dagster asset
column schemas and the generated BI files all come from here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

import duckdb

from transforms import ROOT
from warehouse.sql import literal


@dataclass(frozen=True)
class TableDoc:
    name: str
    description: str
    keys: tuple[str, ...]
    additive: tuple[str, ...]
    columns: dict[str, str]


@cache
def mart_docs() -> dict[str, TableDoc]:
    raw = tomllib.loads((ROOT / "marts" / "columns.toml").read_text())
    shared: dict[str, str] = raw["shared"]
    docs = {}
    for name, table in raw["tables"].items():
        docs[name] = TableDoc(name, table["description"], tuple(table["keys"]),
                              tuple(table["additive"]), {**shared, **table["columns"]})
    return docs


def described_columns(conn: duckdb.DuckDBPyConnection, table: str,
                      database: str | None = None) -> list[tuple[str, str, str]]:
    """(name, DuckDB type, description) of each column of `marts.<table>`, in table order.

    A column the file does not describe is an error: a new column ships with its meaning.
    """
    doc = mart_docs()[table]
    rows = conn.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
        "and table_name = $table and database_name = coalesce($database, current_database()) "
        "order by column_index", {"table": table, "database": database}).fetchall()
    missing = [name for name, _ in rows if name not in doc.columns]
    if missing:
        raise KeyError(f"marts.{table}: no description for {missing} in "
                       "transforms/marts/columns.toml")
    return [(name, data_type, doc.columns[name]) for name, data_type in rows]


def comment_marts(conn: duckdb.DuckDBPyConnection, database: str | None = None) -> None:
    """Write each table's and column's description into the catalog (`COMMENT ON`).

    COMMENT ON takes no bound parameters; the text comes from columns.toml, quoted as a literal.
    """
    prefix = f'"{database}".' if database else ""
    present = {row[0] for row in conn.execute(
        "select table_name from duckdb_tables() where schema_name = 'marts' "
        "and database_name = coalesce($database, current_database())",
        {"database": database}).fetchall()}
    for table, doc in mart_docs().items():
        if table not in present:  # not built yet (a mart selected alone on a new warehouse)
            continue
        target = f"{prefix}marts.{table}"
        conn.execute(f"comment on table {target} is {literal(doc.description)}")
        for column, _, text in described_columns(conn, table, database):
            conn.execute(f'comment on column {target}."{column}" is {literal(text)}')

