"""The marts read out of DuckDB into files, so the PostgreSQL publish holds no DuckDB connection
while it waits on PostgreSQL (the advisory lock, readers' transactions, the network): the
warehouse is closed again before the first byte goes to the server (docs/bi.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.columns import described_columns, mart_docs
from warehouse.sql import literal

_SCALAR_TYPES = {
    "BOOLEAN": "boolean", "TINYINT": "smallint", "SMALLINT": "smallint", "INTEGER": "integer",
    "BIGINT": "bigint", "HUGEINT": "numeric(38,0)", "UTINYINT": "smallint",
    "USMALLINT": "integer", "UINTEGER": "bigint", "UBIGINT": "numeric(20,0)",
    "FLOAT": "real", "DOUBLE": "double precision", "VARCHAR": "text", "DATE": "date",
    "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval", "UUID": "uuid", "JSON": "jsonb", "BLOB": "bytea",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


class UnmappedType(ValueError):
    """A mart column whose DuckDB type has no PostgreSQL counterpart here."""


@dataclass(frozen=True)
class ExportedTable:
    """One mart as a CSV file, with what PostgreSQL needs to create and describe it."""

    name: str
    description: str
    keys: tuple[str, ...]
    columns: tuple[tuple[str, str, str], ...]  # (name, PostgreSQL type, description)
    path: Path


def postgres_type(duckdb_type: str, column: str) -> str:
    """The PostgreSQL type a DuckDB column is served as: money stays exact (numeric), instants
    keep their zone (timestamptz)."""
    if decimal := _DECIMAL.fullmatch(duckdb_type):
        return f"numeric({decimal[1]},{decimal[2]})"
    try:
        return _SCALAR_TYPES[duckdb_type]
    except KeyError:
        raise UnmappedType(
            f"column {column} has DuckDB type {duckdb_type}, which has no PostgreSQL mapping "
            "in warehouse/postgres/export.py") from None


def export_marts(duck: duckdb.DuckDBPyConnection, folder: Path) -> list[ExportedTable]:
    """Every mart written to `folder` as CSV in grain order (an empty string quoted, NULL bare,
    instants with their offset), which PostgreSQL's CSV COPY reads back exactly."""
    exported = []
    for table, doc in mart_docs().items():
        columns = tuple((name, postgres_type(kind, f"marts.{table}.{name}"), text)
                        for name, kind, text in described_columns(duck, table))
        names = ", ".join(f'"{c[0]}"' for c in columns)
        order = ", ".join(f'"{k}"' for k in doc.keys)
        path = folder / f"{table}.csv"
        duck.execute(f"copy (select {names} from marts.{table} order by {order}) "
                     f"to {literal(str(path))} (format csv, header false)")
        exported.append(ExportedTable(table, doc.description, doc.keys, columns, path))
    return exported
