"""The warehouse resource waits a bounded time for the file lock and always releases it; the
steps that write it share one concurrency pool, and hold the file only while they write."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.resources import SHARED_IDLE_SECONDS, WarehouseLocked, WarehouseResource
from sandbox.servers import Sandbox
from tests.lock_holder import hold_lock, released_at
from tests.tiny_company import tiny_company

ROOT = Path(__file__).resolve().parents[1]


def test_a_locked_warehouse_fails_after_the_configured_wait_naming_what_to_do(
        tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    holder = hold_lock(path)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked) as failure, \
                WarehouseResource(database=str(path), lock_wait_seconds=1).get_connection():
            pass
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    message = failure.value.description or ""
    assert str(path) in message and "locked by another process" in message
    assert "CSM_METRICS_WAREHOUSE_LOCK_WAIT" in message and "Nothing was written" in message
    assert 0.5 <= waited < 30  # waited about the configured second, not dagster-duckdb's ~100 s


def test_a_lock_released_during_the_wait_lets_the_step_through(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    holder = hold_lock(path, seconds=1.5)
    try:
        with WarehouseResource(database=str(path), lock_wait_seconds=60).get_connection() as conn:
            entered = time.time()
            assert conn.execute("select 42").fetchone() == (42,)
        assert entered >= released_at(holder), "the step got in before the holder let go"
    finally:
        holder.kill()


def test_a_slow_pull_does_not_hold_the_warehouse(tmp_path: Path) -> None:
    """While a run waits on a slow API, another process can write the warehouse; the run then
    lands as usual (the lock is taken only to write)."""
    warehouse = tmp_path / "warehouse.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    with Sandbox(tiny_company()).start(str(tmp_path)) as fakes:
        env = {**os.environ, **fakes.env(), "WAREHOUSE_PATH": str(warehouse),
               "DAGSTER_HOME": str(home), "CSM_METRICS_WAREHOUSE_LOCK_WAIT": "30"}
        env.pop("CSM_METRICS_SETTINGS", None)
        path = f"/api/v9/workspaces/{fakes.toggl.workspace_id}/projects"
        fakes.toggl.inject(0, delay_seconds=6, path_contains="/projects")
        run = subprocess.Popen(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
             "pipelines.definitions", "--select", "key:raw/toggl/users or key:raw/toggl/projects"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while fakes.toggl.requests[path] < 1 and time.monotonic() < deadline:
                assert run.poll() is None, run.stderr.read() if run.stderr else ""
                time.sleep(0.05)
            assert fakes.toggl.requests[path] == 1, "the run never asked for the projects"
            # The run is waiting for the API: the warehouse is free to write, once the step's
            # shared connection has gone unused for SHARED_IDLE_SECONDS.
            with free_connection(warehouse, SHARED_IDLE_SECONDS + 2) as conn:
                conn.execute("create table meanwhile as select 1 as x")
            assert run.poll() is None, "the slow request was over before the write"
            _, errors = run.communicate(timeout=120)
            assert run.returncode == 0, errors[-3000:]
        finally:
            run.kill()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select x from meanwhile").fetchall() == [(1,)]
        projects = conn.execute("select count(*) from raw.toggl__projects").fetchone()
    assert projects is not None and projects[0] == len(fakes.toggl.projects) > 0


def free_connection(path: Path, within: float) -> duckdb.DuckDBPyConnection:
    """A read-write connection to `path`, retried until another process lets the file go."""
    deadline = time.monotonic() + within
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
