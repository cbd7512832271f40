"""Each mart is an asset of its own: selected alone, it is rebuilt alone, from the warehouse's other
marts; the views are in the graph but no run materializes them (docs/architecture.md, Dagster)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance

from pipelines.definitions import build_definitions
from tests.conftest import TinyBuild, point_at, read_rows
from tests.tiny_company import tiny_company

KPI_CONTROL = AssetKey(["marts", "kpi_control"])


def test_a_mart_selected_alone_is_rebuilt_alone(tiny_built: TinyBuild, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox.servers import Sandbox

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_built.warehouse, warehouse)
    before = read_rows(warehouse, "select distinct run_id from marts.csm_period_metrics")
    with Sandbox(tiny_company()).start(str(tmp_path)) as sandbox:
        point_at(monkeypatch, sandbox, warehouse)
        monkeypatch.setenv("CSM_METRICS_SETTINGS", str(tiny_built.folder / "settings.toml"))
        defs = build_definitions()
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={KPI_CONTROL})
        instance = DagsterInstance.ephemeral()
        result = job.execute_in_process(instance=instance, partition_key="2025-02-01")
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {KPI_CONTROL}
    (event,) = result.asset_materializations_for_node("month_marts")
    rows = read_rows(warehouse, "select count(*) as n, any_value(run_id) as run "
                     "from marts.kpi_control")[0]
    assert event.metadata["dagster/row_count"].value == rows["n"] > 0
    assert rows["run"] == result.run_id
    columns = [c.name for c in event.metadata["dagster/column_schema"].value.columns]
    assert {"kpi", "scope", "period_start", "value", "unpl"} <= set(columns)
    # The other marts are as the earlier build left them.
    assert read_rows(warehouse, "select distinct run_id from marts.csm_period_metrics") == before


def test_the_views_are_in_the_graph_but_no_step_materializes_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    view = AssetKey(["intermediate", "int_time_entries__counted"])
    assert view in graph.get_all_asset_keys()
    assert not graph.get(view).is_executable
    assert not graph.get(view).is_partitioned
    monthly = defs.resolve_job_def("monthly_metrics")
    assert view not in monthly.asset_layer.asset_graph.executable_asset_keys
    # The marts still wait for the time entries a run lands: they depend on them directly.
    marts = graph.get(AssetKey(["marts", "csm_period_metrics"]))
    assert AssetKey(["raw", "toggl", "time_entries"]) in marts.parent_keys
    assert AssetSelection.keys(KPI_CONTROL).resolve(graph) == {KPI_CONTROL}
