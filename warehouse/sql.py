"""Running SQL with bound parameters: values are never formatted into a statement."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import duckdb

_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def run(conn: duckdb.DuckDBPyConnection, sql: str,
        params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute with the parameters the statement names; DuckDB refuses unused named ones."""
    names = set(_PARAM.findall(sql))
    missing = names - set(params or {})
    if missing:
        raise ValueError(f"no value for SQL parameter(s) {sorted(missing)}")
    return conn.execute(sql, {n: (params or {})[n] for n in names} if names else None)


def literal(text: str) -> str:
    """A string literal, for the few statements DuckDB will not bind (ATTACH, COMMENT ON).

    Only for text the project controls: file paths it chose and its own descriptions.
    """
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One explicit transaction: committed when the block ends, rolled back when it raises.

    The block's own error is the one raised. When DuckDB has already ended the transaction (a
    full disk or a fatal error invalidates it), the rollback's "no transaction is active" would
    otherwise replace it and hide the cause.
    """
    conn.execute("begin transaction")
    try:
        yield conn
    except BaseException:
        # The transaction may already be gone; then the block's error says why.
        with suppress(duckdb.Error):
            conn.execute("rollback")
        raise
    conn.execute("commit")
