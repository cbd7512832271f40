"""The warehouse resource releases the database file even when a step fails."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.resources import WarehouseResource


def test_a_failed_step_does_not_leave_the_warehouse_open(tmp_path: Path) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    resource = WarehouseResource(database=path)
    with pytest.raises(RuntimeError), resource.get_connection() as conn:
        conn.execute("create table t as select 1 as x")
        raise RuntimeError("the step failed")
    # A read-only connection in the same process is refused while a read-write one is open.
    with duckdb.connect(path, read_only=True) as reader:
        assert reader.execute("select x from t").fetchone() == (1,)
