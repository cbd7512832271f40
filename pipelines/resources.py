"""The warehouse resource shared by every asset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster_duckdb import DuckDBResource


class WarehouseResource(DuckDBResource):
    """DuckDBResource whose connection is closed even when the step fails.

    dagster-duckdb 0.29's `get_connection` closes the connection only after a successful step,
    so a failed one left the database file open (and locked) for the rest of the process.
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:  # type: ignore[override]
        with super().get_connection() as conn:
            try:
                yield conn
            finally:
                conn.close()
