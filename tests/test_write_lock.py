"""The raw steps' threads write the warehouse one at a time (pipelines/raw.py): while one holds
`write_connection`, another thread of the process waits, and each still gets the file."""

from __future__ import annotations

import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.resources import WarehouseResource

pytestmark = pytest.mark.fast


def test_threads_take_the_write_connection_one_at_a_time(tmp_path: Path) -> None:
    # Two resources on the same file, as two steps' would be: one lock per file, not per object.
    resources = [WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
                 WarehouseResource(database=str(tmp_path / "." / "warehouse.duckdb"))]
    held: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with resources[n % 2].write_connection() as conn:
                started = time.monotonic()
                conn.execute(f"create table t{n} as select {n} as x")
                time.sleep(0.1)
                held.append((started, time.monotonic()))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    spans = sorted(held)
    assert len(spans) == 6
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans))
    with resources[0].get_connection() as conn:
        assert sum(conn.execute(f"select x from t{n}").fetchone()[0] for n in range(6)) == 15
