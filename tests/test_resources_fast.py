"""The resources' pure tests (the fast tier); the ones with other processes are in
test_resources.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.resources import WAREHOUSE_POOL, WarehouseResource
from tests.test_resources import (
    ROOT,
)

pytestmark = pytest.mark.fast


def test_a_failed_step_does_not_leave_the_warehouse_open(tmp_path: Path) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    resource = WarehouseResource(database=path)
    with pytest.raises(RuntimeError), resource.get_connection() as conn:
        conn.execute("create table t as select 1 as x")
        raise RuntimeError("the step failed")
    # A read-only connection in the same process is refused while a read-write one is open.
    with duckdb.connect(path, read_only=True) as reader:
        assert reader.execute("select x from t").fetchone() == (1,)


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
