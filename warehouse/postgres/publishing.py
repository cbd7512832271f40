"""Publish the marts into PostgreSQL, swapped in whole, for Looker and other PostgreSQL clients.

0. The marts are read out of DuckDB into CSV files first (export.py) and the DuckDB connection is
   closed before PostgreSQL is contacted: no wait on PostgreSQL holds the warehouse. Every wait
   on the server is bounded by `wait_seconds` (session.py).
1. The whole new version is built aside, in schema `marts__building`, in one transaction: each
   table typed for PostgreSQL, loaded through COPY (psycopg streams each file in 1 MB blocks;
   nothing goes row by row), then its primary key on the grain, its comments from the contracts,
   ANALYZE, and SELECT for the BI role.
2. One short transaction swaps it in: it locks the served tables (waiting for queries in flight),
   renames `marts` away, renames the new schema to `marts`, and drops the old one. A statement
   waiting on a lock re-resolves `marts.<table>` when it gets it, so it reads the new table, and
   a reader's transaction that already read an old table holds the swap off until it ends: every
   transaction sees one whole version. Objects that depended on the old marts (users' views in
   looker_scratch) go with them: the publish names them in a warning (docs/bi.md).
3. Each attempt at the lock gives up after half a second (below PostgreSQL's 1 s deadlock check,
   so a reader is never chosen as a deadlock victim) and is retried until `wait_seconds`.
   A reader that keeps a transaction open longer makes the publish fail with a message naming
   it; the old version stays served and the new one is dropped.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from warehouse.postgres.export import ExportedTable, UnmappedType, export_marts, postgres_type
from warehouse.postgres.roles import RoleError, check_bi_role, ensure_bi_role
from warehouse.postgres.session import (
    PUBLISH_LOCK,
    WAIT_SETTING,
    SessionError,
    bounded,
    connect,
    describe_sessions,
    take_publish_lock,
)

__all__ = ["PUBLISH_LOCK", "PostgresPublication", "PostgresPublishError", "postgres_type",
           "publish_marts"]

SERVED = "marts"
BUILDING = "marts__building"
RETIRED = "marts__retired"
LOCK_ATTEMPT = "500ms"
# Tables whose grain is indexed rather than a primary key, and why.
INDEXED_ONLY = {"quarantine": "record_id is null for a record that had no id"}
COPY_BLOCK = 1 << 20
DROPPED_WITH_MARTS = (Path(__file__).parent / "dropped_with_marts.sql").read_text()

# What the marts are read from: an open DuckDB connection (the caller keeps it), or what opens
# one (`WarehouseResource.get_connection`), which is closed before PostgreSQL is contacted.
Source = duckdb.DuckDBPyConnection | Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class PostgresPublishError(RuntimeError):
    """The new version could not be published; the old one is still served."""


@dataclass(frozen=True)
class PostgresPublication:
    rows: dict[str, int]
    load_seconds: float  # building: COPY, keys, comments, ANALYZE
    swap_seconds: float
    created: list[str]  # the BI role or scratch schema, when this publish created them
    dropped: list[str] = field(default_factory=list)  # objects that went with the old marts


def publish_marts(source: Source, url: str, run_id: str, *,
                  bi_role: str = "bi", bi_password: str | None = None,
                  swap_wait_seconds: float = 60.0,
                  log: Callable[[str], None] = lambda _: None,
                  warn: Callable[[str], None] | None = None) -> PostgresPublication:
    """Copy `marts.*` from DuckDB into the PostgreSQL database at `url` (a libpq URL or
    conninfo; never logged) and swap them in whole. `swap_wait_seconds` bounds each wait on
    PostgreSQL; `warn` (default `log`) gets what the swap dropped with the old marts."""
    warn = warn or log
    with tempfile.TemporaryDirectory(prefix="csm-metrics-pg-") as folder:
        opened = nullcontext(source) if isinstance(source, duckdb.DuckDBPyConnection) \
            else source()
        try:
            with opened as duck:
                tables = export_marts(duck, Path(folder))
        except UnmappedType as error:
            raise PostgresPublishError(str(error)) from None
        try:
            return _publish(tables, url, run_id, bi_role, bi_password, swap_wait_seconds,
                            log, warn)
        except (SessionError, RoleError) as error:
            raise PostgresPublishError(str(error)) from None
        except psycopg.errors.LockNotAvailable as error:
            raise PostgresPublishError(
                f"a statement of the publish waited {bounded(swap_wait_seconds)} for a lock "
                f"and gave up: {error.diag.message_primary}. Nothing was published; the "
                "previous version is still served.") from None
        except psycopg.OperationalError as error:
            raise PostgresPublishError(
                f"PostgreSQL stopped the publish: {error}. The previous version is still "
                "served unless the swap had committed; re-run.") from None


def _publish(tables: list[ExportedTable], url: str, run_id: str, bi_role: str,
             bi_password: str | None, wait_seconds: float, log: Callable[[str], None],
             warn: Callable[[str], None]) -> PostgresPublication:
    with connect(url, "csm-metrics publisher", wait_seconds) as conn:
        take_publish_lock(conn, wait_seconds)
        swapped_in = False
        try:
            created = ensure_bi_role(conn, bi_role, bi_password)
            for line in created:
                log(f"created {line}")
            started = time.monotonic()
            rows = _build(tables, conn, run_id, bi_role)
            loaded = time.monotonic()
            log(f"built {BUILDING}: {sum(rows.values()):,} rows in {loaded - started:.2f}s")
            dropped = _swap(conn, wait_seconds, list(rows))
            swapped_in = True
            swapped = time.monotonic()
        finally:
            _clean_up(conn, quietly=not swapped_in)
    if dropped:
        warn(f"the swap dropped {len(dropped)} object(s) that depended on the previous marts: "
             f"{'; '.join(dropped)}. Their owners must recreate them after each publish, or "
             "build them as Looker derived tables instead (docs/bi.md, 'Views over the "
             "marts').")
    return PostgresPublication(rows, round(loaded - started, 3), round(swapped - loaded, 3),
                               created, dropped)


def _clean_up(conn: psycopg.Connection, quietly: bool) -> None:
    """Drop a new version that was not swapped in, and let the next publisher in. After a
    failure, a broken connection is not the error to see: the server ends the session and its
    lock, and the next publish drops the schema."""
    try:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(BUILDING)))
        conn.execute("select pg_catalog.pg_advisory_unlock(%s)", [PUBLISH_LOCK])
    except psycopg.OperationalError:
        if not quietly:
            raise


def _build(tables: list[ExportedTable], conn: psycopg.Connection, run_id: str,
           bi_role: str) -> dict[str, int]:
    schema = sql.Identifier(BUILDING)
    rows = {}
    with conn.transaction():
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(schema))
        conn.execute(sql.SQL("create schema {}").format(schema))
        for table in tables:
            target = sql.Identifier(BUILDING, table.name)
            conn.execute(sql.SQL("create table {} ({})").format(target, sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                for name, kind, _ in table.columns)))
            rows[table.name] = _copy(conn, table)
            _key(conn, table.name, table.keys)
            conn.execute(sql.SQL("comment on table {} is {}").format(
                target, sql.Literal(table.description)))
            for name, _, text in table.columns:
                conn.execute(sql.SQL("comment on column {} is {}").format(
                    sql.Identifier(BUILDING, table.name, name), sql.Literal(text)))
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


def _copy(conn: psycopg.Connection, table: ExportedTable) -> int:
    """Stream the table's CSV file (export.py) into PostgreSQL's CSV COPY."""
    statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        sql.Identifier(BUILDING, table.name),
        sql.SQL(", ").join(sql.Identifier(c[0]) for c in table.columns))
    with conn.cursor() as cursor, table.path.open("rb") as source:
        with cursor.copy(statement) as copy:
            while block := source.read(COPY_BLOCK):
                copy.write(block)
        copied = cursor.rowcount
    table.path.unlink()
    return copied


def _swap(conn: psycopg.Connection, wait_seconds: float, tables: list[str]) -> list[str]:
    """Swap the new version in; returns what went with the old one besides its marts."""
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
                dropped = [r[0] for r in conn.execute(
                    DROPPED_WITH_MARTS, {"schema": SERVED, "tables": tables}).fetchall()]
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(
                    sql.Identifier(RETIRED)))
                if _schema_exists(conn, SERVED):
                    conn.execute(sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(SERVED), sql.Identifier(RETIRED)))
                conn.execute(sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(BUILDING), sql.Identifier(SERVED)))
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(
                    sql.Identifier(RETIRED)))
            return dropped
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if time.monotonic() + delay > deadline:
                raise PostgresPublishError(
                    f"could not swap in the new marts within {wait_seconds:g}s: "
                    f"{_blockers(conn)}. The previous version is still served and the new one "
                    "was dropped; re-run once those transactions end, or raise "
                    f"{WAIT_SETTING}.") from None
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
    return "held by " + describe_sessions(found)


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute("select 1 from pg_catalog.pg_namespace where nspname = %s",
                       [schema]).fetchone()
    return row is not None
