"""The daily refresh runs the open month, the monthly close the previous one, both in the
reporting time zone, both on the partitioned `refresh` job (docs/scheduling.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import build_schedule_context

from pipelines.definitions import build_definitions
from pipelines.settings import SettingsError, load_settings

pytestmark = pytest.mark.fast

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture()
def defs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings = tmp_path / "settings.toml"
    settings.write_text('reporting_timezone = "Europe/Berlin"\nfirst_month = "2025-01"\n'
                        'monthly_close_cron = "0 6 5 * *"\n')
    monkeypatch.setenv("CSM_METRICS_SETTINGS", str(settings))
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    return build_definitions()


def tick(defs, name: str, at: datetime) -> list:
    schedule = defs.resolve_schedule_def(name)
    context = build_schedule_context(scheduled_execution_time=at,
                                     repository_def=defs.get_repository_def())
    return list(schedule.evaluate_tick(context).run_requests or [])


def test_the_daily_refresh_runs_the_open_month_in_the_reporting_time_zone(defs) -> None:
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 * * *", "Europe/Berlin")
    assert schedule.job_name == "refresh"
    # 00:30 on December 1st in Berlin is still November 30th in UTC: Berlin's month counts.
    [request] = tick(defs, "daily_refresh", datetime(2026, 12, 1, 0, 30, tzinfo=BERLIN))
    assert request.partition_key == "2026-12-01"
    [again] = tick(defs, "daily_refresh", datetime(2026, 12, 1, 0, 30, tzinfo=BERLIN))
    assert again.run_key == request.run_key  # a restarted daemon never runs a tick twice


def test_the_monthly_close_runs_the_previous_month(defs) -> None:
    schedule = defs.resolve_schedule_def("monthly_close")
    assert schedule.cron_schedule == "0 6 5 * *" and schedule.job_name == "refresh"
    [request] = tick(defs, "monthly_close", datetime(2026, 12, 5, 6, 0, tzinfo=BERLIN))
    assert request.partition_key == "2026-11-01"
    [january] = tick(defs, "monthly_close", datetime(2026, 1, 5, 6, 0, tzinfo=BERLIN))
    assert january.partition_key == "2025-12-01"
    # Nothing to close before the first month has ended.
    assert tick(defs, "monthly_close", datetime(2025, 1, 5, 6, 0, tzinfo=BERLIN)) == []


def test_the_refresh_job_covers_every_asset(defs) -> None:
    job = defs.resolve_job_def("refresh")
    assert job.partitions_def is not None
    keys = {"/".join(k.path) for k in job.asset_layer.executable_asset_keys}
    assert {"bi/published_marts", "marts/csm_period_metrics", "raw/salesforce/accounts",
            "raw/toggl/time_entries"} <= keys


def test_a_wrong_cron_names_the_setting(tmp_path: Path, monkeypatch) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('daily_refresh_cron = "every day at 3"\n')
    monkeypatch.setenv("CSM_METRICS_SETTINGS", str(settings))
    with pytest.raises(SettingsError, match="daily_refresh_cron"):
        load_settings()


def test_two_ticks_on_one_day_are_two_runs(tmp_path: Path, monkeypatch) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('reporting_timezone = "Europe/Berlin"\nfirst_month = "2025-01"\n'
                        'daily_refresh_cron = "0 */6 * * *"\n')
    monkeypatch.setenv("CSM_METRICS_SETTINGS", str(settings))
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    defs = build_definitions()
    [morning] = tick(defs, "daily_refresh", datetime(2026, 12, 1, 6, 0, tzinfo=BERLIN))
    [noon] = tick(defs, "daily_refresh", datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN))
    assert morning.partition_key == noon.partition_key == "2026-12-01"
    assert morning.run_key != noon.run_key  # the daemon skips a run key it has seen
    # The key is the tick's instant: the same instant read on another zone's clock is one key.
    [utc] = tick(defs, "daily_refresh", datetime(2026, 12, 1, 11, 0, tzinfo=ZoneInfo("UTC")))
    assert utc.run_key == noon.run_key
