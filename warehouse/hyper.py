"""The marts as a Tableau Hyper extract (`.hyper`), Tableau's own file format.

Tableau opens a `.hyper` file natively (Desktop, Server and Cloud, no driver), so the extract is
the simplest way for a Tableau user to get the marts. It is written with Tableau's Hyper API:
a `hyperd` process of its own, with telemetry off and its log files in a temporary folder (it
would otherwise write `hyperd.log` into the working directory). Each table gets an explicit
`TableDefinition` in schema `marts` with the Hyper type of its DuckDB type, so a new DuckDB type
is an error here rather than a silent text column in Tableau.

The rows travel in bulk: DuckDB writes each table to a Parquet file, and Hyper reads it with
`INSERT ... SELECT ... FROM external(...)` (no row-by-row `Inserter`). Publishing
(warehouse/publishing.py) builds the extract from the published DuckDB copy it has just built,
so both hold the same rows, and swaps it in the same way.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from tableauhyperapi import (
    Connection,
    CreateMode,
    HyperProcess,
    Nullability,
    SqlType,
    TableDefinition,
    TableName,
    Telemetry,
    escape_name,
    escape_string_literal,
)

from warehouse.columns import described_columns, mart_docs
from warehouse.sql import literal

SCHEMA = "marts"
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_SIMPLE_TYPES = {
    "VARCHAR": SqlType.text, "DOUBLE": SqlType.double, "FLOAT": SqlType.double,
    "BIGINT": SqlType.big_int, "INTEGER": SqlType.int, "SMALLINT": SqlType.small_int,
    "BOOLEAN": SqlType.bool, "DATE": SqlType.date,
    "TIMESTAMP WITH TIME ZONE": SqlType.timestamp_tz, "TIMESTAMP": SqlType.timestamp,
}


def hyper_type(duckdb_type: str) -> SqlType:
    """The Hyper type that holds a DuckDB column's values without loss."""
    decimal = _DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return SqlType.numeric(int(decimal[1]), int(decimal[2]))
    if duckdb_type not in _SIMPLE_TYPES:
        raise TypeError(f"no Hyper type for DuckDB type {duckdb_type}: add it to "
                        "warehouse/hyper.py")
    return _SIMPLE_TYPES[duckdb_type]()


def table_definition(table: str, columns: list[tuple[str, str, str]]) -> TableDefinition:
    # Nullable throughout: a quarantined record may have no id, and ratios are null by design.
    return TableDefinition(TableName(SCHEMA, table), [
        TableDefinition.Column(name, hyper_type(kind), Nullability.NULLABLE)
        for name, kind, _ in columns])


@contextmanager
def hyper_process(log_dir: Path | None = None) -> Iterator[HyperProcess]:
    """A Hyper process with telemetry off, logging into `log_dir` (else a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="hyper-logs-") as scratch:
        folder = Path(log_dir) if log_dir is not None else Path(scratch)
        with HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                          parameters={"log_dir": str(folder)}) as process:
            yield process


def write_extract(source: duckdb.DuckDBPyConnection, target: Path, staging: Path,
                  database: str | None = None, log_dir: Path | None = None) -> dict[str, int]:
    """Write every marts table of `database` (as `source` names it) into the `.hyper` file
    `target`, through Parquet files in the folder `staging`; returns Hyper's row counts."""
    prefix = f'"{database}".' if database else ""
    staging.mkdir(parents=True, exist_ok=True)
    tables = {}
    for table, doc in mart_docs().items():
        columns = described_columns(source, table, database)
        parquet = staging / f"{table}.parquet"
        order = ", ".join(f'"{key}"' for key in doc.keys)
        source.execute(f"copy (select * from {prefix}marts.{table} order by {order}) "
                       f"to {literal(str(parquet))} (format parquet)")
        tables[table] = (columns, parquet)
    rows = {}
    with hyper_process(log_dir) as process, \
            Connection(process.endpoint, target, CreateMode.CREATE_AND_REPLACE) as hyper:
        hyper.catalog.create_schema(SCHEMA)
        for table, (columns, parquet) in tables.items():
            definition = table_definition(table, columns)
            hyper.catalog.create_table(definition)
            names = ", ".join(escape_name(name) for name, _, _ in columns)
            hyper.execute_command(
                f"insert into {definition.table_name} ({names}) select {names} "
                f"from external({escape_string_literal(str(parquet))})")
            rows[table] = hyper.execute_scalar_query(
                f"select count(*) from {definition.table_name}")
    return rows


def extract_rows(path: Path, log_dir: Path | None = None) -> dict[str, int]:
    """Each marts table's row count in the extract at `path`, read with the Hyper API.

    Hyper locks a database file for the process that opens it, so a Tableau reader holding the
    published extract open would make opening it here fail: a copy is counted instead (a
    version is never written again once published, so the copy is the same file)."""
    with tempfile.TemporaryDirectory(prefix="hyper-count-") as scratch:
        copy = Path(scratch) / path.name
        shutil.copyfile(path, copy)
        with hyper_process(log_dir) as process, \
                Connection(process.endpoint, copy, CreateMode.NONE) as hyper:
            return {table: hyper.execute_scalar_query(
                        f"select count(*) from {TableName(SCHEMA, table)}")
                    for table in mart_docs()}
