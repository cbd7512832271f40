"""The warehouse resource waits a bounded time for the file lock and always releases it."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from pipelines.resources import WarehouseLocked, WarehouseResource
from tests.lock_holder import hold_lock


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
            assert conn.execute("select 42").fetchone() == (42,)
        assert holder.wait(timeout=5) == 0, "the step got in before the holder let go"
    finally:
        holder.kill()
