"""Whole-pipeline runs against faulty APIs: after any fault, a clean re-run leaves the marts
exactly as a fault-free run does, table by table, with nothing lost and nothing duplicated."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from pipelines.definitions import build_definitions
from sandbox.servers import Sandbox
from tests.conftest import RANGE_END, RANGE_START, point_at
from tests.fault_summary import TALLY
from tests.lock_holder import hold_lock
from tests.tiny_company import tiny_company

ROOT = Path(__file__).resolve().parents[1]
FIRST, LAST = "2025-01-01", "2025-03-01"
TABLES = ("csm_period_metrics", "team_period_metrics", "account_period_metrics",
          "csm_activity_hours")
LIMIT = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
RATE = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
        "message": "You have reached your ten_secondly_rolling limit."}


def run(instance: DagsterInstance | None = None) -> bool:
    """Both jobs, as `make demo` runs them; True when both succeeded."""
    defs = build_definitions()
    instance = instance or DagsterInstance.ephemeral()
    pulled = defs.resolve_job_def("pull_sources").execute_in_process(
        instance=instance, raise_on_error=False)
    months = defs.resolve_job_def("monthly_metrics").execute_in_process(
        instance=instance, raise_on_error=False, tags={RANGE_START: FIRST, RANGE_END: LAST})
    TALLY.runs += 1
    return pulled.success and months.success


def marts(warehouse: Path) -> dict[str, Counter]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {t: Counter(conn.execute(f"select * exclude (loaded_at, run_id) from marts.{t}")
                           .fetchall()) for t in TABLES}


def compare(result: dict[str, Counter], baseline: dict[str, Counter]) -> None:
    for table in TABLES:
        lost = sum((baseline[table] - result[table]).values())
        duplicated = sum((result[table] - baseline[table]).values())
        TALLY.rows_compared += sum(baseline[table].values())
        TALLY.lost += lost
        TALLY.duplicated += duplicated
        assert (lost, duplicated) == (0, 0), f"{table}: {lost} lost, {duplicated} duplicated"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter]:
    folder = tmp_path_factory.mktemp("baseline")
    with Sandbox(tiny_company()).start(str(folder)) as fakes, \
            pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, fakes, folder / "warehouse.duckdb")
        assert run()
    tables = marts(folder / "warehouse.duckdb")
    assert all(tables.values())
    return tables


def drift(fakes: Sandbox) -> Callable[[], None]:
    """A new field, a missing optional field, and a number sent as a string."""
    saved = {"opps": [dict(r) for r in fakes.salesforce.objects["Opportunity"]],
             "entries": {u: [dict(e) for e in es] for u, es in fakes.clockify.entries.items()},
             "companies": [dict(c) for c in fakes.hubspot.companies]}
    for record in fakes.salesforce.objects["Opportunity"]:
        if record["Amount"] is not None:
            record["Amount"] = str(record["Amount"])
    for entries in fakes.clockify.entries.values():
        for entry in entries:
            entry.pop("tagIds", None)
            entry["customFieldValues"] = [{"name": "new", "value": "field"}]
    for company in fakes.hubspot.companies:
        company["propertiesVersion"] = 2

    def undo() -> None:
        fakes.salesforce.objects["Opportunity"] = saved["opps"]
        fakes.clockify.entries = saved["entries"]
        fakes.hubspot.companies = saved["companies"]
    return undo


def rate_limited(f: Sandbox) -> None:
    f.hubspot.inject(429, RATE, {"Retry-After": "1"}, times=2)
    f.toggl.inject(429, "Too Many Requests", times=2)


def server_errors(f: Sandbox) -> None:
    f.clockify.inject(503, {"message": "unavailable"}, times=2)
    f.hubspot.inject(502, None, times=2)


def slow(f: Sandbox) -> None:
    f.toggl.inject(0, delay_seconds=3, path_contains="/search/")  # the timeout is 1 s


def dropped(f: Sandbox) -> None:
    f.hubspot.inject(0, drop=True, path_contains="/deals")
    f.toggl.inject(0, drop=True, path_contains="/search/")


def salesforce_limit(f: Sandbox) -> None:
    f.salesforce.inject(403, LIMIT, path_contains="/queryAll/", times=3)


def toggl_quota(f: Sandbox) -> None:
    f.toggl.limit(4, 402, "You have hit your hourly limit for API calls.", 3600,
                  lambda wait: {"X-Toggl-Quota-Resets-In": str(round(wait))})


def truncated(f: Sandbox) -> None:
    f.clockify.inject(200, raw=b'[{"id": "x", "timeInt', path_contains="/time-entries")


def warehouse_locked(f: Sandbox) -> Callable[[], None]:
    """Another process (a DuckDB shell, a notebook) holds the warehouse file open."""
    holder = hold_lock(os.environ["WAREHOUSE_PATH"])

    def release() -> None:
        holder.kill()
        holder.wait()
    return release


def unfired(fakes: Sandbox) -> list[str]:
    """Injected faults that no request met, and request budgets never spent: a fault that did
    not fire proves nothing about riding it out."""
    left = [f"{s.name}: {f.status or 'pass-through'} x{f.times} on {f.path_contains or '*'}"
            for s in fakes.servers for f in s.faults]
    left += [f"{s.name}: its request budget was never spent" for s in fakes.servers
             if s.quota is not None and s.quota.reset_at is None]
    return left


# What the faulted run itself does: rides the fault out (succeeds, marts already right), keeps
# what it read (succeeds with a warning; the marts are short until the re-run), or fails.
RIDES_OUT, KEEPS_WHAT_IT_READ, FAILS = "rides out", "keeps what it read", "fails"
FAULTS: dict[str, tuple[Callable[[Sandbox], Callable[[], None] | None], str]] = {
    "429 storm": (rate_limited, RIDES_OUT),
    "5xx burst": (server_errors, RIDES_OUT),
    "slow past the timeout": (slow, RIDES_OUT),
    "dropped connection mid-page": (dropped, RIDES_OUT),
    "schema drift": (drift, RIDES_OUT),
    # Every Salesforce stream is incremental: the ones cut short keep their pages and cursor.
    "salesforce 403 REQUEST_LIMIT_EXCEEDED": (salesforce_limit, KEEPS_WHAT_IT_READ),
    "toggl 402 quota": (toggl_quota, FAILS),
    "truncated JSON": (truncated, FAILS),
    "warehouse locked by another process": (warehouse_locked, FAILS),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_clean_rerun_after_a_fault_matches_a_fault_free_run(
        fault: str, baseline: dict[str, Counter], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    inject, outcome = FAULTS[fault]
    warehouse = tmp_path / "warehouse.duckdb"
    with Sandbox(tiny_company()).start(str(tmp_path)) as fakes:
        point_at(monkeypatch, fakes, warehouse)
        monkeypatch.setenv("CSM_METRICS_HTTP_TIMEOUT", "1")
        monkeypatch.setenv("CSM_METRICS_WAREHOUSE_LOCK_WAIT", "1")
        instance = DagsterInstance.ephemeral()
        undo = inject(fakes)
        TALLY.faults += 1
        faulted_ok = run(instance)
        assert not unfired(fakes), f"{fault}: the fault never fired: {unfired(fakes)}"
        if outcome == FAILS:
            assert not faulted_ok, f"{fault}: the run should have failed, and said why"
        else:
            assert faulted_ok, f"the pipeline should ride out: {fault}"
        if outcome == RIDES_OUT:
            compare(marts(warehouse), baseline)
        fakes.clear_faults()
        if undo:
            undo()
        assert run(instance), "the clean re-run failed"
    compare(marts(warehouse), baseline)


def materializer(env: dict[str, str]) -> Callable[..., subprocess.Popen[bytes]]:
    """`dagster asset materialize` in its own process (and process group), as a user runs it."""
    def materialize(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
             "pipelines.definitions", *args], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return materialize


SOURCES = ("--select", "tag:partitioning=none")
MONTHS = ("--select", "tag:partitioning=monthly", "--partition-range", f"{FIRST}...{LAST}")


def test_a_refresh_launched_during_a_backfill_waits_its_turn_and_both_finish(
        baseline: dict[str, Counter], tmp_path: Path) -> None:
    """Two runs at once on the shipped dagster.yaml: the backfill is slowed down reading Toggl;
    the refresh launched meanwhile neither fails on the warehouse lock nor breaks the backfill."""
    warehouse = tmp_path / "warehouse.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    with Sandbox(tiny_company()).start(str(tmp_path)) as fakes:
        env = {**os.environ, **fakes.env(), "WAREHOUSE_PATH": str(warehouse),
               "DAGSTER_HOME": str(home), "CSM_METRICS_WAREHOUSE_LOCK_WAIT": "1"}
        env.pop("CSM_METRICS_SETTINGS", None)
        materialize = materializer(env)
        assert materialize(*SOURCES).wait(timeout=300) == 0
        fakes.toggl.inject(0, delay_seconds=5.0, path_contains="/search/", times=10)
        backfill = materialize(*MONTHS)
        search = f"/reports/api/v3/workspace/{fakes.toggl.workspace_id}/search/time_entries"
        deadline = time.monotonic() + 120
        while fakes.toggl.requests[search] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert backfill.poll() is None, "the backfill ended before the refresh could overlap it"
        refresh = materialize(*SOURCES)
        try:
            assert refresh.wait(timeout=300) == 0, "the refresh failed during the backfill"
            assert backfill.wait(timeout=300) == 0, "the backfill failed during the refresh"
        finally:
            for process in (refresh, backfill):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
        TALLY.faults += 1
        TALLY.runs += 3
    compare(marts(warehouse), baseline)


def test_sigkill_mid_load_then_a_clean_rerun(baseline: dict[str, Counter],
                                            tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    with Sandbox(tiny_company()).start(str(tmp_path)) as fakes:
        env = {**os.environ, **fakes.env(), "WAREHOUSE_PATH": str(warehouse),
               "DAGSTER_HOME": str(home)}
        env.pop("CSM_METRICS_SETTINGS", None)
        materialize = materializer(env)
        sources, months = SOURCES, MONTHS
        assert materialize(*sources).wait(timeout=300) == 0
        # Slow the time-entry pages down, and kill the run while it is loading them.
        fakes.toggl.inject(0, delay_seconds=1.0, path_contains="/search/", times=10)
        victim = materialize(*months)
        search = f"/reports/api/v3/workspace/{fakes.toggl.workspace_id}/search/time_entries"
        deadline = time.monotonic() + 120
        # Toggl reads the three months as one window (a year at most): killed during its read.
        while fakes.toggl.requests[search] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert victim.poll() is None, "the run ended before it could be killed"
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        TALLY.faults += 1
        TALLY.runs += 1
        fakes.clear_faults()
        assert materialize(*sources).wait(timeout=300) == 0
        assert materialize(*months).wait(timeout=300) == 0
        TALLY.runs += 1
    compare(marts(warehouse), baseline)
