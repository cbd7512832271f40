"""Publish the marts into PostgreSQL, swapped in whole, for Looker and other PostgreSQL clients.

1. The whole new version is built aside, in schema `marts__building`, in one transaction: each
   table typed for PostgreSQL, loaded through COPY (DuckDB writes CSV to a temporary file that
   psycopg streams in 1 MB blocks; nothing goes row by row), then its primary key on the grain,
   its comments from columns.toml, ANALYZE, and SELECT for the BI role.
2. One short transaction swaps it in: it locks the served tables (waiting for queries in flight),
   renames `marts` away, renames the new schema to `marts`, and drops the old one. A statement
   waiting on a lock re-resolves `marts.<table>` when it gets it, so it reads the new table, and
   a reader's transaction that already read an old table holds the swap off until it ends: every
   transaction sees one whole version.
3. Each attempt at the lock gives up after half a second (below PostgreSQL's 1 s deadlock check,
   so a reader is never chosen as a deadlock victim) and is retried until `swap_wait_seconds`.
   A reader that keeps a transaction open longer makes the publish fail with a message naming
   it; the old version stays served and the new one is dropped.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from warehouse.columns import described_columns, mart_docs
from warehouse.postgres.roles import RoleError, check_bi_role, ensure_bi_role
from warehouse.sql import literal

SERVED = "marts"
BUILDING = "marts__building"
RETIRED = "marts__retired"
# One publisher at a time per database: the session advisory lock's key ("csm_mart" in ASCII).
PUBLISH_LOCK = 0x63736D5F6D617274
LOCK_ATTEMPT = "500ms"
# Tables whose grain is indexed rather than a primary key, and why.
INDEXED_ONLY = {"quarantine": "record_id is null for a record that had no id"}
COPY_BLOCK = 1 << 20

_SCALAR_TYPES = {
    "BOOLEAN": "boolean", "TINYINT": "smallint", "SMALLINT": "smallint", "INTEGER": "integer",
    "BIGINT": "bigint", "HUGEINT": "numeric(38,0)", "UTINYINT": "smallint",
    "USMALLINT": "integer", "UINTEGER": "bigint", "UBIGINT": "numeric(20,0)",
    "FLOAT": "real", "DOUBLE": "double precision", "VARCHAR": "text", "DATE": "date",
    "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval", "UUID": "uuid", "JSON": "jsonb", "BLOB": "bytea",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


class PostgresPublishError(RuntimeError):
    """The new version could not be published; the old one is still served."""


@dataclass(frozen=True)
class PostgresPublication:
    rows: dict[str, int]
    load_seconds: float  # building: COPY, keys, comments, ANALYZE
    swap_seconds: float
    created: list[str]  # the BI role or scratch schema, when this publish created them


def postgres_type(duckdb_type: str, column: str) -> str:
    """The PostgreSQL type a DuckDB column is served as: money stays exact (numeric), instants
    keep their zone (timestamptz)."""
    if decimal := _DECIMAL.fullmatch(duckdb_type):
        return f"numeric({decimal[1]},{decimal[2]})"
    try:
        return _SCALAR_TYPES[duckdb_type]
    except KeyError:
        raise PostgresPublishError(
            f"column {column} has DuckDB type {duckdb_type}, which has no PostgreSQL mapping "
            "in warehouse/postgres/publishing.py") from None


def publish_marts(duck: duckdb.DuckDBPyConnection, url: str, run_id: str, *,
                  bi_role: str = "bi", bi_password: str | None = None,
                  swap_wait_seconds: float = 60.0,
                  log: Callable[[str], None] = lambda _: None) -> PostgresPublication:
    """Copy `marts.*` from a DuckDB connection into the PostgreSQL database at `url` (a libpq
    URL or conninfo; never logged) and swap them in whole."""
    with connect(url, "csm-metrics publisher") as conn:
        conn.execute("select pg_catalog.pg_advisory_lock(%s)", [PUBLISH_LOCK])
        try:
            created = ensure_bi_role(conn, bi_role, bi_password)
            for line in created:
                log(f"created {line}")
            started = time.monotonic()
            rows = _build(duck, conn, run_id, bi_role)
            loaded = time.monotonic()
            log(f"built {BUILDING}: {sum(rows.values()):,} rows in {loaded - started:.2f}s")
            _swap(conn, swap_wait_seconds)
            swapped = time.monotonic()
        except RoleError as error:
            raise PostgresPublishError(str(error)) from None
        finally:
            _clean_up(conn)
    return PostgresPublication(rows, round(loaded - started, 3), round(swapped - loaded, 3),
                               created)


def connect(url: str, application: str) -> psycopg.Connection:
    """An autocommit connection; errors never repeat the URL or its password."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        raise PostgresPublishError(
            "CSM_METRICS_POSTGRES_URL is not a libpq URL "
            "(postgresql://user:password@host:port/database)") from None
    try:
        return psycopg.connect(url, autocommit=True, application_name=application,
                               client_encoding="UTF8")
    except psycopg.OperationalError as error:
        message = str(error).replace(password, "***") if password else str(error)
        raise PostgresPublishError(f"cannot connect to PostgreSQL: {message}") from None


def _clean_up(conn: psycopg.Connection) -> None:
    """Drop a new version that was not swapped in, and let the next publisher in. When the
    connection itself broke, the server ends the session and its lock, and the next publish
    drops the schema: the error that broke it is the one to see."""
    try:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(BUILDING)))
        conn.execute("select pg_catalog.pg_advisory_unlock(%s)", [PUBLISH_LOCK])
    except psycopg.OperationalError:
        if sys.exc_info()[0] is None:
            raise


def _build(duck: duckdb.DuckDBPyConnection, conn: psycopg.Connection, run_id: str,
           bi_role: str) -> dict[str, int]:
    schema = sql.Identifier(BUILDING)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="csm-metrics-pg-") as folder, conn.transaction():
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(schema))
        conn.execute(sql.SQL("create schema {}").format(schema))
        for table, doc in mart_docs().items():
            columns = described_columns(duck, table)
            target = sql.Identifier(BUILDING, table)
            conn.execute(sql.SQL("create table {} ({})").format(target, sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name),
                                        sql.SQL(postgres_type(kind, f"marts.{table}.{name}")))
                for name, kind, _ in columns)))
            rows[table] = _copy(duck, conn, table, [c[0] for c in columns], doc.keys,
                                Path(folder) / f"{table}.csv")
            _key(conn, table, doc.keys)
            conn.execute(sql.SQL("comment on table {} is {}").format(
                target, sql.Literal(doc.description)))
            for name, _, text in columns:
                conn.execute(sql.SQL("comment on column {} is {}").format(
                    sql.Identifier(BUILDING, table, name), sql.Literal(text)))
            conn.execute(sql.SQL("analyze {}").format(target))
        conn.execute(sql.SQL("comment on schema {} is {}").format(schema, sql.Literal(
            f"csm-metrics marts, published by run {run_id} at "
            f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} (docs/bi.md)")))
        role = sql.Identifier(bi_role)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, role))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, role))
        check_bi_role(conn, bi_role, BUILDING)
    return rows


def _key(conn: psycopg.Connection, table: str, keys: tuple[str, ...]) -> None:
    """A primary key on the grain, or an index where the grain can hold nulls. Repeated keys
    fail the publish, naming them: a mart that breaks its grain is not served."""
    target = sql.Identifier(BUILDING, table)
    columns = sql.SQL(", ").join(map(sql.Identifier, keys))
    if table in INDEXED_ONLY:
        conn.execute(sql.SQL("create index on {} ({})").format(target, columns))
        return
    try:
        with conn.transaction():
            conn.execute(sql.SQL("alter table {} add primary key ({})").format(target, columns))
    except (psycopg.errors.UniqueViolation, psycopg.errors.NotNullViolation) as error:
        detail = error.diag.message_detail or error.diag.message_primary
        raise PostgresPublishError(
            f"marts.{table} breaks its grain ({', '.join(keys)}): {detail}. Nothing was "
            "published; the previous version is still served.") from None


def _copy(duck: duckdb.DuckDBPyConnection, conn: psycopg.Connection, table: str,
          columns: list[str], keys: tuple[str, ...], path: Path) -> int:
    """DuckDB writes the table as CSV (an empty string quoted, NULL bare, instants with their
    offset), which PostgreSQL's CSV COPY reads back exactly."""
    names = ", ".join(f'"{c}"' for c in columns)
    order = ", ".join(f'"{k}"' for k in keys)
    duck.execute(f"copy (select {names} from marts.{table} order by {order}) "
                 f"to {literal(str(path))} (format csv, header false)")
    statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        sql.Identifier(BUILDING, table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cursor, path.open("rb") as source:
        with cursor.copy(statement) as copy:
            while block := source.read(COPY_BLOCK):
                copy.write(block)
        copied = cursor.rowcount
    path.unlink()
    return copied


def _swap(conn: psycopg.Connection, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            with conn.transaction():
                conn.execute(f"set local lock_timeout = '{LOCK_ATTEMPT}'")
                served = [r[0] for r in conn.execute(
                    "select tablename from pg_catalog.pg_tables where schemaname = %s "
                    "order by tablename", [SERVED]).fetchall()]
                if served:
                    conn.execute(sql.SQL("lock table {} in access exclusive mode").format(
                        sql.SQL(", ").join(sql.Identifier(SERVED, t) for t in served)))
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(
                    sql.Identifier(RETIRED)))
                if _schema_exists(conn, SERVED):
                    conn.execute(sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(SERVED), sql.Identifier(RETIRED)))
                conn.execute(sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(BUILDING), sql.Identifier(SERVED)))
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(
                    sql.Identifier(RETIRED)))
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if time.monotonic() + delay > deadline:
                raise PostgresPublishError(
                    f"could not swap in the new marts within {wait_seconds:g}s: "
                    f"{_blockers(conn)}. The previous version is still served and the new one "
                    "was dropped; re-run once those transactions end, or raise "
                    "CSM_METRICS_POSTGRES_SWAP_WAIT.") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _blockers(conn: psycopg.Connection) -> str:
    """Who holds the served tables: the sessions whose open transactions held the swap off."""
    found = conn.execute("""
        select distinct activity.pid, activity.usename, activity.application_name,
               activity.state, activity.xact_start
        from pg_catalog.pg_locks as locks
        join pg_catalog.pg_class as tables on tables.oid = locks.relation
        join pg_catalog.pg_namespace as schemas on schemas.oid = tables.relnamespace
        join pg_catalog.pg_stat_activity as activity on activity.pid = locks.pid
        where schemas.nspname = %s and locks.granted and locks.pid <> pg_backend_pid()
        order by activity.xact_start""", [SERVED]).fetchall()
    if not found:
        return "readers kept the served tables locked"
    def session(pid: int, user: str, app: str | None, state: str | None,
                started: datetime | None) -> str:
        known = [f"user {user}", f"application {app!r}" if app else None, state,
                 f"transaction open since {started:%Y-%m-%d %H:%M:%S %Z}" if started else None]
        return f"pid {pid} ({', '.join(k for k in known if k)})"

    return "held by " + "; ".join(session(*row) for row in found)


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute("select 1 from pg_catalog.pg_namespace where nspname = %s",
                       [schema]).fetchone()
    return row is not None
