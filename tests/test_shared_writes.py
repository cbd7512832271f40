"""A step's writes share one warehouse connection (`WarehouseResource.shared_writes`,
pipelines/resources.py): the file is opened once for the step's landings, not once a stream;
each write is still its own transaction; the file is closed when the step ends, when no write
came for a while (the pulls wait on their APIs) and after a write that failed."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from pipelines import resources
from pipelines.resources import WarehouseResource
from tests.write_threads import write_in_threads

pytestmark = pytest.mark.fast


def file_is_closed(path: str) -> bool:
    """A read-only connection in the same process is refused while a read-write one is open."""
    try:
        with duckdb.connect(path, read_only=True):
            return True
    except duckdb.ConnectionException:
        return False


def test_the_writes_of_a_step_share_one_connection_one_thread_at_a_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "SHARED_IDLE_SECONDS", 60.0)  # a slow machine keeps it open
    path = str(tmp_path / "warehouse.duckdb")
    # Two resources on one file, as two assets' would be: one shared connection per file.
    warehouses = [WarehouseResource(database=path),
                  WarehouseResource(database=str(tmp_path / "." / "warehouse.duckdb"))]
    with warehouses[0].shared_writes():
        writes = write_in_threads(warehouses, 6, hold=0.05)
        assert len({w.connection for w in writes}) == 1  # one connection for every write
        assert not file_is_closed(path)  # held between the writes
    assert all(a.ended <= b.started for a, b in pairwise(writes))
    assert file_is_closed(path)  # closed with the step
    with duckdb.connect(path, read_only=True) as conn:
        assert sum(conn.execute(f"select x from t{n}").fetchone()[0] for n in range(6)) == 15


def test_a_failed_write_undoes_only_itself_and_the_next_write_reopens(tmp_path: Path) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    warehouse = WarehouseResource(database=path)
    with warehouse.shared_writes():
        with warehouse.write_connection() as conn:
            conn.execute("create table landed as select 1 as source")
        with pytest.raises(RuntimeError), warehouse.write_connection() as conn:
            conn.execute("begin transaction")
            conn.execute("insert into landed values (2)")
            raise RuntimeError("the second source failed half-way")
        assert file_is_closed(path)  # the failed write's connection was let go
        with warehouse.write_connection() as conn:
            conn.execute("insert into landed values (3)")
            assert conn.execute("select list(source order by source) from landed"
                                ).fetchone() == ([1, 3],)


def test_the_shared_connection_is_closed_while_no_write_comes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "SHARED_IDLE_SECONDS", 0.2)
    path = str(tmp_path / "warehouse.duckdb")
    warehouse = WarehouseResource(database=path)
    with warehouse.shared_writes():
        with warehouse.write_connection() as conn:
            conn.execute("create table t as select 1 as x")
        assert not file_is_closed(path)
        deadline = time.monotonic() + 10
        while not file_is_closed(path) and time.monotonic() < deadline:
            time.sleep(0.05)  # another process could now write the file
        assert time.monotonic() < deadline
        with warehouse.write_connection() as conn:  # reopened for the next write
            assert conn.execute("select x from t").fetchone() == (1,)


def test_outside_a_step_each_write_opens_and_closes_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    warehouse = WarehouseResource(database=path)
    with warehouse.write_connection() as conn:
        conn.execute("create table t as select 1 as x")
    assert file_is_closed(path)
