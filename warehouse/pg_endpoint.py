"""A PostgreSQL-wire endpoint over the published marts, for Looker and any Postgres client.

Looker has no DuckDB dialect; it reaches DuckDB-family warehouses through the PostgreSQL wire
protocol. This serves the published copy read-only with buenavista (its wire protocol, md5
password auth, and sqlglot rewriting of Postgres SQL such as `to_char` into DuckDB's). Each
client session opens the version the published link points at when it connects, so a session
sees one complete publication for its whole life and a new session sees the newest.

Three adaptations to buenavista 0.5 (unmaintained since 2024): its DuckDB backend asks for
`fetch_record_batch`, which duckdb 2.0 renamed `to_arrow_reader`; it parses every parameter of
unspecified type (what libpq clients such as psycopg send for a string) as a date, so those are
passed on as text for DuckDB to cast; and its server accepts only loopback clients, which here
stays the rule unless a password is set (docs/bi.md).
"""

from __future__ import annotations

import ipaddress
import warnings
from pathlib import Path
from typing import Any

import duckdb
from buenavista import bv_dialects, rewrite
from buenavista.backends.duckdb import DuckDBConnection, DuckDBSession
from buenavista.postgres import NULL_BYTE, BuenaVistaHandler, BuenaVistaServer

from warehouse.publishing import current_version


class _Cursor:
    """A duckdb 2.0 connection under the name buenavista 0.5 calls."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def fetch_record_batch(self, rows_per_batch: int = 100_000) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "an extra copy": pages are small
            return self._conn.to_arrow_reader(rows_per_batch)


class _Session(DuckDBSession):
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn
        super().__init__(_Cursor(conn))
        conn.execute("set search_path = 'marts,main'")

    def close(self) -> None:
        self._conn.close()


class PublishedMarts(DuckDBConnection):
    """buenavista's connection: a new read-only DuckDB connection per client session."""

    def __init__(self, published: Path) -> None:
        super().__init__(db=None)
        self.published = published

    def new_session(self) -> DuckDBSession:
        return _Session(duckdb.connect(str(current_version(self.published)), read_only=True))


class _Rewriter(rewrite.Rewriter):
    def rewrite(self, sql: str) -> str:
        if sql.strip().lower().rstrip(";") in ("select version()", "select pg_catalog.version()"):
            return "select 'PostgreSQL 14.0 (csm-metrics over DuckDB)' as version"
        return super().rewrite(sql)


class _Handler(BuenaVistaHandler):
    UNSPECIFIED, TEXT = 0, 25

    def handle_bind(self, ctx: Any, payload: bytes) -> None:
        portal_end = payload.index(NULL_BYTE)
        name = payload[portal_end + 1 : payload.index(NULL_BYTE, portal_end + 1)].decode()
        sql, oids = ctx.stmts[name]
        ctx.stmts[name] = (sql, [self.TEXT if o == self.UNSPECIFIED else o for o in oids])
        super().handle_bind(ctx, payload)


class Endpoint(BuenaVistaServer):
    daemon_threads = True

    def __init__(self, published: Path, host: str, port: int,
                 users: dict[str, str] | None) -> None:
        if not users and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"refusing to serve {host} without a password: set "
                             "CSM_METRICS_PG_PASSWORD, or listen on 127.0.0.1")
        current_version(published)  # fail now, with the reason, if nothing is published yet
        super().__init__((host, port), PublishedMarts(published),
                         rewriter=_Rewriter(bv_dialects.BVPostgres(), bv_dialects.BVDuckDB()),
                         auth=users or None)
        self.RequestHandlerClass = _Handler

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return bool(self.auth) or ipaddress.ip_address(client_address[0]).is_loopback
