"""What every mart table and column means, read from the marts' contracts
(`transforms/<folder>/<mart>.yml`, transforms/contracts.py).

The contracts are the one source of truth: the warehouse's `COMMENT ON` statements, the Dagster
asset column schemas, the PostgreSQL and Hyper schemas and the generated BI files all come from
here.
"""

from __future__ import annotations

import duckdb

from transforms.contracts import Contract, contracts
from warehouse.sql import literal

TableDoc = Contract  # name, description, keys (the grain), additive, columns (name -> meaning)


def mart_docs() -> dict[str, Contract]:
    """Every mart's contract, by table name."""
    return contracts()


def described_columns(conn: duckdb.DuckDBPyConnection, table: str,
                      database: str | None = None) -> list[tuple[str, str, str]]:
    """(name, DuckDB type, description) of each column of `marts.<table>`, in table order.

    A column the contract does not describe is an error: a new column ships with its meaning.
    """
    doc = mart_docs()[table]
    rows = conn.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
        "and table_name = $table and database_name = coalesce($database, current_database()) "
        "order by column_index", {"table": table, "database": database}).fetchall()
    missing = [name for name, _ in rows if name not in doc.columns]
    if missing:
        raise KeyError(f"marts.{table}: no description for {missing} in {doc.file}")
    return [(name, data_type, doc.columns[name]) for name, data_type in rows]


def comment_marts(conn: duckdb.DuckDBPyConnection, database: str | None = None) -> int:
    """Write each table's and column's description into the catalog (`COMMENT ON`) where it
    is not already there; returns the comments written.

    The catalog's comments are read in one query and only those that differ are written: a
    mart whose periods are replaced keeps its comments between builds, one replaced whole
    (`create or replace`) comes back without them. COMMENT ON takes no bound parameters; the
    text comes from the contracts, quoted as a literal.
    """
    prefix = f'"{database}".' if database else ""
    where = "schema_name = 'marts' and database_name = coalesce($database, current_database())"
    params = {"database": database}
    present = {table: comment for table, comment in conn.execute(
        f"select table_name, comment from duckdb_tables() where {where}", params).fetchall()}
    columns: dict[str, list[tuple[str, str | None]]] = {}
    for table, column, comment in conn.execute(
            f"select table_name, column_name, comment from duckdb_columns() where {where} "
            "order by table_name, column_index", params).fetchall():
        columns.setdefault(table, []).append((column, comment))
    written = 0
    for table, doc in mart_docs().items():
        if table not in present:  # not built yet (a mart selected alone on a new warehouse)
            continue
        missing = [name for name, _ in columns.get(table, []) if name not in doc.columns]
        if missing:
            raise KeyError(f"marts.{table}: no description for {missing} in {doc.file}")
        target = f"{prefix}marts.{table}"
        if present[table] != doc.description:
            conn.execute(f"comment on table {target} is {literal(doc.description)}")
            written += 1
        for column, comment in columns.get(table, []):
            if comment != doc.columns[column]:
                conn.execute(f'comment on column {target}."{column}" '
                             f"is {literal(doc.columns[column])}")
                written += 1
    return written
