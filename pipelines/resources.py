"""The warehouse resource shared by every asset."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster import Failure
from dagster_duckdb import DuckDBResource
from pydantic import Field

from warehouse.locations import DEFAULT_MEMORY_LIMIT


class WarehouseLocked(Failure):
    """Another process holds the warehouse file; the run changed nothing."""


class WarehouseResource(DuckDBResource):
    """DuckDBResource that waits a bounded, configurable time for the file lock, says who holds it,
    and closes its connection even when the step fails.

    dagster-duckdb 0.29 retries the lock for ~100 s with no way to shorten it, then raises DuckDB's
    bare IO error; and it closes the connection only after a successful step, so a failed one left
    the file open (and locked) for the rest of the process.
    """

    lock_wait_seconds: float = Field(
        default=60.0, ge=0,
        description="How long to wait for another process to release the warehouse file.")
    memory_limit: str = Field(
        default=DEFAULT_MEMORY_LIMIT,
        description="DuckDB's memory_limit: beyond it DuckDB spills to disk, so a run's memory "
                    "stays flat however much it loads (docs/performance.md).")

    def _connect(self) -> duckdb.DuckDBPyConnection:
        config = {"custom_user_agent": "csm-metrics", "memory_limit": self.memory_limit,
                  **self.connection_config}
        deadline = time.monotonic() + self.lock_wait_seconds
        delay = 0.1
        while True:
            try:
                return duckdb.connect(self.database, read_only=False, config=config)
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise
                if time.monotonic() + delay > deadline:
                    raise WarehouseLocked(
                        description=(
                            f"The warehouse {self.database} is locked by another process "
                            f"(waited {self.lock_wait_seconds:g}s): {error}. Nothing was written. "
                            "Close that process (a DuckDB shell or notebook, or a BI tool: point "
                            "BI at the published copy instead, see docs/bi.md) and re-run; or "
                            "raise CSM_METRICS_WAREHOUSE_LOCK_WAIT.")) from None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:  # type: ignore[override]
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()
