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

from pipelines.resources import WAREHOUSE_POOL, WarehouseLocked, WarehouseResource
from sandbox.servers import Sandbox
from tests.lock_holder import hold_lock, released_at
from tests.tiny_company import tiny_company

ROOT = Path(__file__).resolve().parents[1]


def test_a_failed_step_does_not_leave_the_warehouse_open(tmp_path: Path) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    resource = WarehouseResource(database=path)
    with pytest.raises(RuntimeError), resource.get_connection() as conn:
        conn.execute("create table t as select 1 as x")
        raise RuntimeError("the step failed")
    # A read-only connection in the same process is refused while a read-write one is open.
    with duckdb.connect(path, read_only=True) as reader:
        assert reader.execute("select x from t").fetchone() == (1,)


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


def test_staging_left_by_a_killed_pull_is_removed_once_stale(tmp_path: Path) -> None:
    resource = WarehouseResource(database=str(tmp_path / "warehouse.duckdb"))
    folder = Path(resource.staging_folder or "")
    assert folder == tmp_path / ".staging"
    stale, current = folder / "staging-a", folder / "staging-b"
    for leftover in (stale, current):
        leftover.mkdir()
        (leftover / "staged.duckdb").write_bytes(b"x")
    old = time.time() - 2 * 24 * 3600
    for path in (stale / "staged.duckdb", stale):
        os.utime(path, (old, old))
    assert resource.staging_folder == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["staging-b"]


def test_every_step_that_writes_the_warehouse_is_in_its_pool() -> None:
    from pipelines.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    # The views are specs no step materializes (pipelines/metrics/models.py).
    writers = [node for node in graph.asset_nodes if node.is_executable]
    assert writers
    for node in writers:
        assets_def = graph.assets_def_for_key(node.key)
        assert assets_def.op.pool == WAREHOUSE_POOL, node.key
    # Every check that opens the warehouse (all but the freshness checks, which read Dagster's
    # own records).
    for check in defs.asset_checks or []:
        if not any("freshness" in key.name for key in check.check_keys):
            assert check.op.pool == WAREHOUSE_POOL, check.check_keys


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
            # The run is waiting for the API: the warehouse is free to write.
            with duckdb.connect(str(warehouse)) as conn:
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


def test_the_settings_are_parsed_once_per_run(tmp_path: Path) -> None:
    """The settings resource parses the file when the run sets it up; an edit during the run
    changes nothing for its later steps, and a wrong file stops it at setup."""
    from dagster import build_init_resource_context

    from pipelines.resources import SettingsResource
    from pipelines.settings import SettingsError

    path = tmp_path / "settings.toml"
    path.write_text('reporting_timezone = "Europe/Paris"\n')
    resource = SettingsResource(path=str(path))
    with build_init_resource_context() as context:
        resource.setup_for_execution(context)
    path.write_text('reporting_timezone = "Asia/Tokyo"\n')
    assert resource.get().reporting_timezone == "Europe/Paris"
    assert resource.get() is resource.get()
    assert SettingsResource().get().reporting_timezone == "UTC"  # no file: the defaults
    path.write_text("reporting_timezone = 3\n")
    with pytest.raises(SettingsError, match="reporting_timezone"), \
            build_init_resource_context() as context:
        SettingsResource(path=str(path)).setup_for_execution(context)


def test_no_asset_or_check_loads_the_settings_itself() -> None:
    """They get the run's settings from the `settings` resource (or from an argument)."""
    callers = [str(path.relative_to(ROOT)) for path in (ROOT / "pipelines").rglob("*.py")
               if "load_settings(" in path.read_text()]
    assert sorted(callers) == ["pipelines/resources.py", "pipelines/settings.py"]
