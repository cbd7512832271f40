"""The code location loads, from the module and through workspace.yaml's CLI."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
from dagster import AssetKey

from tests.cli_backfill import cli_backfill
from tests.conftest import TinyBuild, read_rows
from warehouse.postgres.cluster import LocalCluster

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_backfill_command_works(pg_server: LocalCluster) -> None:
    """`dagster asset materialize ... --partition-range`, as docs/backfilling.md gives it: the
    sources, then the monthly selection for January to March 2025. The session runs those two
    commands once (tests/cli_backfill.py, which test_secrets searches for secrets too)."""
    backfill = cli_backfill(pg_server)
    tmp_path, warehouse, home = backfill.folder, backfill.warehouse, backfill.home
    # The same run published the marts for BI.
    with duckdb.connect(str(tmp_path / "published" / "csm_metrics.duckdb"), read_only=True) as bi:
        # 5 months, quarters and years, and the 14 trailing twelve months that hold a month of
        # the range (those ending January 2025 to February 2026).
        assert bi.execute("select count(*) from marts.team_period_metrics").fetchone() == (19,)
    team = read_rows(warehouse, "select period_grain, period_start, period_end "
                     "from marts.team_period_metrics order by period_grain, period_start")
    assert [(r["period_grain"], str(r["period_start"])) for r in team
            if r["period_grain"] != "ttm"] == [
        ("month", "2025-01-01"), ("month", "2025-02-01"), ("month", "2025-03-01"),
        ("quarter", "2025-01-01"), ("year", "2025-01-01")]
    ttm_ends = [str(r["period_end"]) for r in team if r["period_grain"] == "ttm"]
    assert (len(ttm_ends), ttm_ends[0], ttm_ends[-1]) == (14, "2025-02-01", "2026-03-01")
    # Both runs are kept in DAGSTER_HOME's run storage, which `make ui` shows.
    with sqlite3.connect(home / "history" / "runs.db") as runs:
        assert runs.execute("select count(*) from runs where status = 'SUCCESS'").fetchone() == (2,)


def test_dg_finds_the_definitions() -> None:
    result = subprocess.run([str(Path(sys.executable).with_name("dg")), "check", "defs"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_no_run_materializes_the_views_and_every_mart_says_its_rows(
        tiny_built: TinyBuild) -> None:
    """The views are specs no step writes (no event, no partition for them); each mart's
    materialization carries its table's row count and columns (docs/architecture.md,
    Dagster). Read from the session's tiny build: both jobs' runs, in their event log."""
    from transforms.graph import model_graph

    instance = tiny_built.instance
    for model in model_graph().models:
        key = AssetKey([model.layer, model.name])
        event = instance.get_latest_materialization_event(key)
        if model.layer in ("staging", "intermediate"):
            assert event is None, model.name
        elif model.layer == "marts":
            assert event is not None and event.asset_materialization is not None, model.name
            metadata = event.asset_materialization.metadata
            with duckdb.connect(str(tiny_built.warehouse), read_only=True) as conn:
                rows = conn.execute(f"select count(*) from marts.{model.name}").fetchone()
            assert metadata["dagster/row_count"].value == rows[0], model.name
            assert metadata["dagster/column_schema"].value.columns, model.name
