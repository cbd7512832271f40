"""The raw steps' threads write the warehouse one at a time (pipelines/raw.py): while one holds
`write_connection`, another thread of the process waits, and each still gets the file."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.resources import WarehouseResource
from tests.write_threads import write_in_threads

pytestmark = pytest.mark.fast


def test_threads_take_the_write_connection_one_at_a_time(tmp_path: Path) -> None:
    # Two resources on the same file, as two steps' would be: one lock per file, not per object.
    resources = [WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
                 WarehouseResource(database=str(tmp_path / "." / "warehouse.duckdb"))]
    writes = write_in_threads(resources, 6, hold=0.1)
    assert len(writes) == 6
    assert all(a.ended <= b.started for a, b in pairwise(writes))
    with resources[0].get_connection() as conn:
        assert sum(conn.execute(f"select x from t{n}").fetchone()[0] for n in range(6)) == 15
