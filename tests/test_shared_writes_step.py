"""The raw step opens the warehouse file once for all its streams' landings and key checks
(pipelines/raw.py, `shared_writes`), not once or twice a stream, and closes it when it ends."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from pipelines import resources
from pipelines.definitions import build_definitions
from pipelines.resources import WarehouseResource
from pipelines.time_tracking.assets import STREAMS
from tests.conftest import tiny_fakes


def test_the_raw_step_opens_the_warehouse_once_for_every_stream(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No idle close while the fakes answer (a loaded machine can be slow between streams).
    monkeypatch.setattr(resources, "SHARED_IDLE_SECONDS", 600.0)
    opened: list[str] = []
    connect = WarehouseResource._connect

    def counted(self: WarehouseResource) -> duckdb.DuckDBPyConnection:
        opened.append(self.database)
        return connect(self)

    monkeypatch.setattr(WarehouseResource, "_connect", counted)
    streams = [s for s in STREAMS if s.write_mode != "replace_window"]  # 8 directory streams
    with tiny_fakes(tmp_path):
        job = build_definitions().resolve_job_def("pull_sources")
        result = job.execute_in_process(
            instance=DagsterInstance.ephemeral(),
            asset_selection=[AssetKey(["raw", s.source, s.name]) for s in streams])
    assert result.success
    assert len(result.get_asset_materialization_events()) == len(streams)
    assert len(result.get_asset_check_evaluations()) == len(streams)
    assert opened == [str(tmp_path / "warehouse.duckdb")]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:  # closed
        landed = {stream.table: conn.execute(f"select count(*) from raw.{stream.table}")
                  .fetchone()[0] for stream in streams}
    assert landed["toggl__users"] > 0 and landed["clockify__users"] > 0, landed
