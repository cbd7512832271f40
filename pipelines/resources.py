"""The resources shared by every asset: the warehouse (and the concurrency pool of the steps
that write it) and the business-rule settings."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, DagsterInstance, Failure, InitResourceContext
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from pipelines.settings import Settings, load_settings
from warehouse.locations import DEFAULT_MEMORY_LIMIT, is_motherduck

# Every step that writes the warehouse runs in this Dagster concurrency pool. The shipped
# deploy/dagster.yaml gives every pool one slot (`concurrency: pools: default_limit: 1`), so a
# step of an overlapping run waits for the slot instead of failing on DuckDB's file lock
# (docs/scheduling.md).
WAREHOUSE_POOL = "warehouse"
# A step's shared write connection is closed after this long without a write, so a long wait
# on an API (Toggl's pacing) leaves the file to other processes (docs/scaling.md).
SHARED_IDLE_SECONDS = 2.0
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

    @contextmanager
    def write_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection held by one thread of this process at a time: the pulls of several
        sources on threads of one step land one after another, as steps did.

        Inside `shared_writes` the writes reuse one open connection (opening the file, and
        closing it, which checkpoints, cost more than landing a few changed rows); it is closed
        after `SHARED_IDLE_SECONDS` without a write, so another process can write the file while
        the pulls wait on APIs, and after a write that raised (the next one reopens it).
        Outside, each write opens and closes the file."""
        writer = _writer(self.database)
        with writer.lock:
            if not writer.sessions:
                with self.get_connection() as conn:
                    yield conn
                return
            writer.cancel_close()
            if writer.conn is None:
                writer.conn = self._connect()
            try:
                yield writer.conn
            except BaseException:
                writer.close()
                raise
            writer.close_when_idle(SHARED_IDLE_SECONDS)

    @contextmanager
    def shared_writes(self) -> Iterator[None]:
        """Let this process's `write_connection`s on this file share one connection until the
        block ends (a step's pulls and checks: pipelines/raw.py). Each write is still its own
        transaction, so a failing write undoes only itself."""
        writer = _writer(self.database)
        with writer.lock:
            writer.sessions += 1
        try:
            yield
        finally:
            with writer.lock:
                writer.sessions -= 1
                if not writer.sessions:
                    writer.close()


class _SharedWriter:
    """One warehouse file's write lock, and the connection `shared_writes` keeps open."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: duckdb.DuckDBPyConnection | None = None
        self.sessions = 0
        self._timer: threading.Timer | None = None

    def cancel_close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close_when_idle(self, seconds: float) -> None:
        self.cancel_close()
        timer = threading.Timer(seconds, self._close_if_idle)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _close_if_idle(self) -> None:
        # A write holding the lock now schedules its own close when it ends.
        if self.lock.acquire(blocking=False):
            try:
                if self._timer is threading.current_thread():
                    self.close()
            finally:
                self.lock.release()

    def close(self) -> None:
        self.cancel_close()
        if self.conn is not None:
            conn, self.conn = self.conn, None
            conn.close()


# One per warehouse file in this process: the sources' pulls of a step run on threads
# (pipelines/raw.py) and take its lock to read a cursor, land a window or judge keys.
_WRITERS: dict[str, _SharedWriter] = {}
_WRITERS_GUARD = threading.Lock()


def _writer(database: str) -> _SharedWriter:
    key = (str(Path(database).resolve()) if database and not is_motherduck(database)
           and database != ":memory:" else database)
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, _SharedWriter())


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


# Whose marts build the warehouse holds (docs/reliability.md, "Overlapping runs"). The pool
# serializes steps, not runs: another run's marts build can land between this run's build, its
# checks and its publishes. The build step records its run here before it writes anything
# (settings tables included); a check judges, and a publish copies, only the build of its own
# run (or of a run it re-executes). One row per build; the latest is the one in place.
BUILDS_TABLE = "raw._marts_builds"
BUILDS_KEPT = 1000


@dataclass(frozen=True)
class Build:
    """The warehouse's marts build, as one run sees it."""

    current: str | None  # the run whose build is in place (None: no build recorded yet)
    ours: bool  # it is this run's, or that of a run this one re-executes
    built_here: bool  # this run (or one it re-executes) started a build in this warehouse
    failed_check: str | None = None  # a blocking check that failed on the build in place

    @property
    def publishable(self) -> bool:
        """This run may publish the build in place: its own; or, for a run that built nothing
        (a publish on its own), any build no blocking check failed on."""
        return self.ours or (not self.built_here and self.failed_check is None)

    @property
    def superseded(self) -> bool:
        """This run built the marts, and another run's build has replaced them since."""
        return self.built_here and not self.ours

    def superseded_message(self) -> str:
        return (f"run {self.current} rebuilt the marts after this run built them: its checks "
                "judge its build and it publishes it if they pass; this run neither judges "
                "nor publishes another run's build")


def record_build(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Mark the marts as `run_id`'s build, before the build writes anything."""
    conn.execute("create schema if not exists raw")
    conn.execute(f"""
        create table if not exists {BUILDS_TABLE} (
            seq bigint not null, run_id varchar not null, started_at timestamptz not null,
            failed_check varchar
        )""")
    conn.execute(f"""
        insert into {BUILDS_TABLE}
        select coalesce(max(seq), 0) + 1, $run_id, now(), null from {BUILDS_TABLE}""",
                 {"run_id": run_id})
    conn.execute(f"delete from {BUILDS_TABLE} where seq <= "
                 f"(select max(seq) from {BUILDS_TABLE}) - {BUILDS_KEPT}")


def run_lineage(instance: DagsterInstance, run_id: str) -> list[str]:
    """`run_id` and the runs it re-executes (a re-execution from failure keeps its parent's
    build and check results), nearest first."""
    lineage = [run_id]
    run = instance.get_run_by_id(run_id)
    while run is not None and run.parent_run_id and run.parent_run_id not in lineage:
        lineage.append(run.parent_run_id)
        run = instance.get_run_by_id(run.parent_run_id)
    return lineage


def current_build(conn: duckdb.DuckDBPyConnection, lineage: list[str]) -> Build:
    """Whose build `conn` sees, from the runs of `lineage` (run_lineage)."""
    exists = conn.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'raw' and table_name = $name",
        {"name": BUILDS_TABLE.split(".")[1]}).fetchone()
    if not exists or not exists[0]:
        return Build(current=None, ours=False, built_here=False)
    latest = conn.execute(f"select run_id, failed_check from {BUILDS_TABLE} "
                          "order by seq desc limit 1").fetchone()
    mine = conn.execute(f"select count(*) from {BUILDS_TABLE} where run_id in $lineage",
                        {"lineage": lineage}).fetchone()
    current, failed = latest if latest else (None, None)
    return Build(current=current, ours=current in lineage,
                 built_here=bool(mine and mine[0]), failed_check=failed)


def record_failed_check(conn: duckdb.DuckDBPyConnection, run_id: str, check: str) -> None:
    """Mark `run_id`'s build, if it is the one in place, as failed by the blocking `check`: a
    publish on its own then refuses it."""
    conn.execute(f"""
        update {BUILDS_TABLE} set failed_check = coalesce(failed_check, $check)
        where seq = (select max(seq) from {BUILDS_TABLE}) and run_id = $run_id""",
                 {"check": check, "run_id": run_id})


def run_build(conn: duckdb.DuckDBPyConnection, instance: DagsterInstance, run_id: str) -> Build:
    """Whose build `conn` sees, from the run `run_id`."""
    return current_build(conn, run_lineage(instance, run_id))
