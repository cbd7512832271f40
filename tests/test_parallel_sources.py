"""The sources pull at the same time in one run (docs/scaling.md, Sources in parallel): with
every fake API answering slowly, the four sources' requests overlap in time, the run takes about
as long as its slowest source rather than the sum, and every stream lands the same keys, once
each, as pulling each stream alone does."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from dagster import AssetKey, DagsterInstance, TimeWindow, build_resources

from pipelines.crm.assets import STREAMS as CRM_STREAMS
from pipelines.definitions import build_definitions, resources
from pipelines.deployment import Deployment
from pipelines.raw import time_entry_windows
from pipelines.settings import Settings, load_settings
from pipelines.time_tracking.assets import STREAMS as TRACKER_STREAMS
from sandbox.servers import Sandbox
from tests.conftest import tiny_fakes
from warehouse.pull import PullOptions, pull_stream

STREAMS = [*CRM_STREAMS, *TRACKER_STREAMS]
SOURCES = ("salesforce", "hubspot", "toggl", "clockify")
DELAY = 0.25  # seconds each fake waits before answering
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
Spans = dict[str, list[tuple[float, float]]]


def slow_and_watched(sandbox: Sandbox, delays: dict[str, float] | None = None) -> Spans:
    """Every fake answers each request DELAY seconds late (or its `delays`); the returned spans
    fill with each request's (start, end) per source, as the fake saw it."""
    spans: Spans = defaultdict(list)
    lock = threading.Lock()
    for name in SOURCES:
        fake = getattr(sandbox, name)
        fake.inject(0, delay_seconds=(delays or {}).get(name, DELAY), times=10_000)
        served = fake.dispatch

        def dispatch(request, served=served, name=name):
            started = time.monotonic()
            try:
                return served(request)
            finally:
                with lock:
                    spans[name].append((started, time.monotonic()))

        fake.dispatch = dispatch
    return spans


def assert_overlapping(spans: Spans, sources: tuple[str, ...]) -> None:
    busy = {name: (min(s for s, _ in spans[name]), max(e for _, e in spans[name]))
            for name in sources}
    assert all(spans[name] for name in sources), dict(spans)
    # One instant at which every source was being read...
    assert max(start for start, _ in busy.values()) < min(end for _, end in busy.values()), busy
    # ... and the whole took well under the sum of the sources' times.
    whole = max(e for _, e in busy.values()) - min(s for s, _ in busy.values())
    each = sum(end - start for start, end in busy.values())
    assert whole < 0.75 * each, (whole, busy)


def landed_keys(warehouse: Path | duckdb.DuckDBPyConnection, tables: list[str]
                ) -> dict[str, tuple[int, list[str]]]:
    """Each table's row count and sorted keys."""
    conn = (duckdb.connect(str(warehouse), read_only=True) if isinstance(warehouse, Path)
            else warehouse)
    try:
        return {table: (conn.execute(f"select count(*) from raw.{table}").fetchone()[0],
                        [r[0] for r in conn.execute(f"select _pk from raw.{table} order by _pk")
                         .fetchall()])
                for table in tables}
    finally:
        if isinstance(warehouse, Path):
            conn.close()


def pulled_alone(streams: list, settings: Settings, windows=None
                 ) -> dict[str, tuple[int, list[str]]]:
    """Each stream pulled on its own by the plain function, in memory, through the connectors
    the definitions' resources build: the expected keys."""
    sources = {name: value for name, value in
               resources(Deployment.from_env()).items() if name in SOURCES}
    with build_resources(sources) as built, duckdb.connect(":memory:") as conn:
        for stream in streams:
            options = PullOptions(owner_path=settings.owner_path(stream.source)
                                  if stream.snapshots_ownership else None)
            connector = getattr(built, stream.source).connector(settings)
            pull_stream(stream, connector, lambda: nullcontext(conn), "alone",
                        windows and windows(connector), options)
        return landed_keys(conn, [s.table for s in streams])


def test_the_sources_directories_pull_at_the_same_time_and_land_every_key_once(
        tmp_path: Path) -> None:
    streams = [s for s in STREAMS if s.write_mode != "replace_window"]
    with tiny_fakes(tmp_path) as sandbox:
        expected = pulled_alone(streams, load_settings(tmp_path / "settings.toml"))
        spans = slow_and_watched(sandbox)
        job = build_definitions().resolve_job_def("pull_sources")
        result = job.execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success
    assert_overlapping(spans, SOURCES)
    assert landed_keys(tmp_path / "warehouse.duckdb", [s.table for s in streams]) == expected
    for stream in streams:  # each stream's own materialization, with its own figures
        key = AssetKey(["raw", stream.source, stream.name])
        events = [e for e in result.get_asset_materialization_events()
                  if e.asset_key == key]
        assert len(events) == 1, key
        metadata = events[0].materialization.metadata
        assert metadata["rows_written"].value == expected[stream.table][0] or \
            stream.write_mode == "merge", key
        assert metadata["requests"].value >= 1, key
    checks = result.get_asset_check_evaluations()
    assert len(checks) == len(streams) and all(c.passed for c in checks)


def test_the_trackers_time_entries_pull_at_the_same_time_for_a_range_of_months(
        tmp_path: Path) -> None:
    windowed = [s for s in STREAMS if s.write_mode == "replace_window"]
    with tiny_fakes(tmp_path) as sandbox:
        settings = load_settings(tmp_path / "settings.toml")
        months = TimeWindow(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
        expected = pulled_alone(windowed, settings, lambda connector: time_entry_windows(
            months, connector.max_window_months, settings))
        defs = build_definitions()
        instance = DagsterInstance.ephemeral()
        # Toggl reads the range in one request, Clockify in one per user.
        spans = slow_and_watched(sandbox, {"toggl": 1.0, "clockify": 0.5})
        keys = [AssetKey(["raw", s.source, s.name]) for s in windowed]
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=keys,
            tags={RANGE_START: "2025-01-01", RANGE_END: "2025-03-01"})
    assert result.success
    assert_overlapping(spans, ("toggl", "clockify"))
    assert {e.step_key for e in result.all_events if e.is_step_success} == {"raw_time_entries"}
    assert landed_keys(tmp_path / "warehouse.duckdb", [s.table for s in windowed]) == expected
    assert all(rows > 0 for rows, _ in expected.values())


def test_a_source_that_fails_fails_the_step_after_the_others_land(tmp_path: Path) -> None:
    """HubSpot partly configured, Toggl not configured at all: Salesforce and Clockify land,
    each Toggl stream is skipped with a warning, and the step then fails naming HubSpot's
    missing variable."""
    import pytest

    streams = [s for s in STREAMS if s.write_mode != "replace_window"]
    with tiny_fakes(tmp_path), pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
        for name in ("TOGGL_API_TOKEN", "TOGGL_WORKSPACE_ID", "TOGGL_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        job = build_definitions().resolve_job_def("pull_sources")
        instance = DagsterInstance.ephemeral()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1
    message = failures[0].step_failure_data.user_failure_data.description or ""
    assert "hubspot is partly configured" in message and "HUBSPOT_ACCESS_TOKEN" in message
    materialized = {e.asset_key: e.materialization.metadata
                    for e in result.get_asset_materialization_events()}
    for stream in streams:
        key = AssetKey(["raw", stream.source, stream.name])
        if stream.source in ("salesforce", "clockify"):
            assert "rows_written" in materialized[key], key
        elif stream.source == "toggl":
            assert materialized[key]["skipped"].value == "source not configured"
        else:
            assert key not in materialized
    skipped = {e.user_message for e in instance.all_logs(result.run_id)
               if e.level == logging.WARNING and "toggl is not configured" in e.user_message}
    assert skipped == {f"toggl is not configured: {s.name} not pulled"
                       for s in streams if s.source == "toggl"}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.salesforce__accounts").fetchone()[0] > 0


def test_a_key_check_runs_alone_without_pulling(tmp_path: Path) -> None:
    from dagster import AssetCheckKey

    check = AssetCheckKey(AssetKey(["raw", "toggl", "users"]), "primary_key_unique")
    with tiny_fakes(tmp_path) as sandbox:
        job = build_definitions().resolve_implicit_global_asset_job_def().get_subset(
            asset_selection=set(), asset_check_selection={check})
        result = job.execute_in_process(instance=DagsterInstance.ephemeral())
        assert sandbox.toggl.request_count == 0
    assert result.success
    assert [(e.asset_check_key, e.passed) for e in result.get_asset_check_evaluations()] == [
        (check, True)]
    assert not result.get_asset_materialization_events()
