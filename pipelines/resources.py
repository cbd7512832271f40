"""The resources shared by every asset: the warehouse (and the concurrency pool of the steps
that write it) and the business-rule settings."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, Failure, InitResourceContext
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from pipelines.settings import Settings, load_settings
from warehouse.locations import DEFAULT_MEMORY_LIMIT, is_motherduck

# Every step that writes the warehouse runs in this Dagster concurrency pool. The shipped
# dagster.yaml gives every pool one slot (`concurrency: pools: default_limit: 1`), so a step of
# an overlapping run waits for the slot instead of failing on DuckDB's file lock
# (docs/scheduling.md).
WAREHOUSE_POOL = "warehouse"
# Staging folders older than this were left by a killed process: removed.
STALE_STAGING_SECONDS = 24 * 3600


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

    @property
    def staging_folder(self) -> str | None:
        """Where pulls are staged before they are landed: `.staging/` beside a warehouse file
        (the disk provisioned for it), the system's temporary folder for MotherDuck."""
        if is_motherduck(self.database) or self.database in ("", ":memory:"):
            return None
        folder = Path(self.database).resolve().parent / ".staging"
        folder.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - STALE_STAGING_SECONDS
        for leftover in folder.iterdir():
            try:
                touched = max([leftover.stat().st_mtime,
                               *(f.stat().st_mtime for f in leftover.iterdir())])
            except (FileNotFoundError, NotADirectoryError):
                continue
            if touched < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)
        return str(folder)

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:  # type: ignore[override]
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()


class SettingsResource(ConfigurableResource):
    """The business-rule settings (docs/configuration.md), parsed once per run: every asset and
    check of the run reads the same `Settings`, whatever the file says by the time it runs.

    The code location validated the file when it loaded (pipelines/definitions.py), so a run
    starts only from settings that parse.
    """

    path: str | None = Field(
        default=None, description="The settings file (`CSM_METRICS_SETTINGS`); unset: every "
                                  "setting's default.")
    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._settings = load_settings(self.path) if self.path else Settings()

    def get(self) -> Settings:
        """The run's settings (parsed on first use outside a run, then kept)."""
        if self._settings is None:
            self._settings = load_settings(self.path) if self.path else Settings()
        return self._settings
