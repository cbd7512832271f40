"""The demo's runs, as a newcomer sees them: the named jobs through `dg launch`, each run's id
and steps printed as they finish, and a 24-month backfill that writes at most 800 events in all
(docs/performance.md, Fixed costs)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from dagster import DagsterInstance

import sandbox.demo as demo
from sandbox.servers import Sandbox
from tests.tiny_company import tiny_company, tiny_settings

ROOT = Path(__file__).resolve().parents[1]
EVENT_BUDGET = 800


def test_a_24_month_backfill_prints_its_steps_and_stays_within_the_event_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    company = tiny_company()
    (tmp_path / "settings.toml").write_text(tiny_settings(company))
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
    monkeypatch.setattr(demo, "WAREHOUSE", tmp_path / "warehouse.duckdb")
    with Sandbox(company).start(str(tmp_path)) as sandbox:
        env = {**os.environ, **sandbox.env(), "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
               "DAGSTER_HOME": str(home), "CSM_METRICS_SETTINGS": str(tmp_path / "settings.toml"),
               "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
        env.pop("CSM_METRICS_PUBLISHED_PATH", None)
        demo.run_job(env, "pull_sources")
        demo.run_job(env, "monthly_metrics", "2024-01-01...2025-12-01")
    printed = capsys.readouterr().out
    started = re.findall(r"run ([0-9a-f-]{36}) of (\w+) started", printed)
    assert [job for _, job in started] == ["pull_sources", "monthly_metrics"]
    assert re.search(r"^\s+\d+\. month_marts \(", printed, re.MULTILINE)
    assert "ok: monthly_metrics" in printed
    assert "DEBUG" not in printed  # Dagster's own log is kept in a file, not shown
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert {run.run_id for run in runs} == {run_id for run_id, _ in started}
        events = sum(len(instance.all_logs(run.run_id)) for run in runs)
    assert events <= EVENT_BUDGET, events
