"""Whole-pipeline runs against faulty APIs: after any fault, a clean re-run leaves the marts
exactly as a fault-free run does, table by table, with nothing lost and nothing duplicated.

Each fault also hits the engagement and feedback streams (issue 14): HubSpot's engagement and
feedback listings and their v4 association batch reads (a POST), and Salesforce's `queryAll` of
Task, Event and the feedback object. Salesforce sends every query to one path, so a fault for
one object's queries is placed by its SOQL (`on_soql`). The runs use the hand-computed tests'
settings, so that the Salesforce feedback object, loss reasons, sources and milestones are
read and reach the marts.
"""

from __future__ import annotations

import os
import re
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
from sandbox.servers import FakeSalesforce, Sandbox
from sandbox.servers.base import Fault, Request, Response
from tests.conftest import RANGE_END, RANGE_START, TinyBuild, marts_only, point_at
from tests.fault_summary import TALLY
from tests.lock_holder import hold_lock
from tests.tiny_company import tiny_company, tiny_settings

ROOT = Path(__file__).resolve().parents[1]
FIRST, LAST = "2025-01-01", "2025-03-01"
TABLES = ("csm_period_metrics", "team_period_metrics", "account_period_metrics",
          "csm_activity_hours", "churn_reasons")
LIMIT = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
RATE = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
        "message": "You have reached your ten_secondly_rolling limit."}
# HubSpot's v4 batch association reads (POST), per object type, and its object listings.
V4 = "/crm/v4/associations/{}/companies/batch/read"
LIST = "/crm/v3/objects/{}"
FEEDBACK_OBJECT = "NPS_Response__c"  # the tiny settings' salesforce_feedback_object


def settings_file(folder: Path) -> Path:
    """The hand-computed tests' settings, which name the Salesforce feedback object."""
    path = folder / "settings.toml"
    path.write_text(tiny_settings(tiny_company()))
    return path


class SoqlFaults:
    """Faults for the queries of one Salesforce object. Every query goes to one path (the SOQL
    is in `q`, which `inject`'s `path_contains` does not see), so each fault is handed to the
    server's own fault switch, first in line, as the request it is for arrives."""

    def __init__(self, server: FakeSalesforce) -> None:
        self.server = server
        self.pending: list[tuple[str, Fault]] = []
        self._dispatch = server.dispatch
        server.dispatch = self.dispatch  # type: ignore[method-assign]

    def dispatch(self, request: Request) -> Response:
        soql = request.arg("q") or ""
        for sobject, fault in self.pending:
            if re.search(rf"\bFROM\s+{sobject}\b", soql, re.IGNORECASE):
                fault.times -= 1
                if fault.times <= 0:
                    self.pending.remove((sobject, fault))
                with self.server._lock:
                    self.server.faults.insert(0, Fault(
                        fault.status, fault.body, fault.headers, 1, request.path,
                        fault.delay_seconds, fault.raw, fault.drop))
                break
        return self._dispatch(request)


def on_soql(server: FakeSalesforce, sobject: str, status: int, body: object = None,
            times: int = 1, **kwargs: object) -> None:
    """`inject`, for the next `times` queries (`query`, `queryAll`) of `sobject` only."""
    faults = server.__dict__.get("soql_faults") or SoqlFaults(server)
    server.__dict__["soql_faults"] = faults
    faults.pending.append((sobject, Fault(status, body, times=times, **kwargs)))  # type: ignore[arg-type]


def clear_faults(fakes: Sandbox) -> None:
    fakes.clear_faults()
    if "soql_faults" in fakes.salesforce.__dict__:
        fakes.salesforce.__dict__["soql_faults"].pending.clear()


def run(instance: DagsterInstance | None = None) -> bool:
    """Both jobs, as `make demo` runs them but for BI; True when both succeeded."""
    defs = build_definitions()
    instance = instance or DagsterInstance.ephemeral()
    pulled = defs.resolve_job_def("pull_sources").execute_in_process(
        instance=instance, raise_on_error=False)
    job = defs.resolve_job_def("monthly_metrics")  # the marts: the faults never reach BI
    months = job.execute_in_process(
        instance=instance, raise_on_error=False, tags={RANGE_START: FIRST, RANGE_END: LAST},
        asset_selection=marts_only(job))
    TALLY.runs += 1
    return pulled.success and months.success


def marts(warehouse: Path) -> dict[str, Counter]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {t: Counter(conn.execute(
            f"select * exclude (as_of, loaded_at, run_id) from marts.{t}").fetchall())
            for t in TABLES}


def compare(result: dict[str, Counter], baseline: dict[str, Counter]) -> None:
    for table in TABLES:
        lost = sum((baseline[table] - result[table]).values())
        duplicated = sum((result[table] - baseline[table]).values())
        TALLY.rows_compared += sum(baseline[table].values())
        TALLY.lost += lost
        TALLY.duplicated += duplicated
        assert (lost, duplicated) == (0, 0), f"{table}: {lost} lost, {duplicated} duplicated"


@pytest.fixture(scope="module")
def baseline(tiny_built: TinyBuild) -> dict[str, Counter]:
    """A fault-free run's marts: the session's tiny build, the same company, settings and months
    through both jobs (tests/conftest.py)."""
    tables = marts(tiny_built.warehouse)
    assert all(tables.values())
    return tables


def drift(fakes: Sandbox) -> Callable[[], None]:
    """A new field, a missing optional field, and a number sent as a string."""
    hubspot = fakes.hubspot
    saved = {"opps": [dict(r) for r in fakes.salesforce.objects["Opportunity"]],
             "feedback": [dict(r) for r in fakes.salesforce.objects[FEEDBACK_OBJECT]],
             "entries": {u: [dict(e) for e in es] for u, es in fakes.clockify.entries.items()},
             "companies": [dict(c) for c in hubspot.companies],
             "engagements": {kind: [{**r, "properties": dict(r["properties"])}
                                    for r in getattr(hubspot, kind)]
                             for kind in ("calls", "meetings", "feedback_submissions")}}
    for record in fakes.salesforce.objects["Opportunity"]:
        if record["Amount"] is not None:
            record["Amount"] = str(record["Amount"])
    for record in fakes.salesforce.objects[FEEDBACK_OBJECT]:  # a number field, sent as text
        if isinstance(record["Score__c"], float):
            record["Score__c"] = f"{record['Score__c']:g}"
    for entries in fakes.clockify.entries.values():
        for entry in entries:
            entry.pop("tagIds", None)
            entry["customFieldValues"] = [{"name": "new", "value": "field"}]
    for company in hubspot.companies:
        company["propertiesVersion"] = 2
    for call in hubspot.calls:
        call["propertiesVersion"] = 2
    for meeting in hubspot.meetings:  # optional: the end of a meeting is not read
        meeting["properties"].pop("hs_meeting_end_time", None)
    for submission in hubspot.feedback_submissions:  # then the creation instant stands in
        submission["properties"].pop("hs_submission_timestamp", None)

    def undo() -> None:
        fakes.salesforce.objects["Opportunity"] = saved["opps"]
        fakes.salesforce.objects[FEEDBACK_OBJECT] = saved["feedback"]
        fakes.clockify.entries = saved["entries"]
        hubspot.companies = saved["companies"]
        for kind, records in saved["engagements"].items():
            setattr(hubspot, kind, records)
    return undo


def rate_limited(f: Sandbox) -> None:
    f.hubspot.inject(429, RATE, {"Retry-After": "1"}, path_contains=V4.format("calls"))
    f.hubspot.inject(429, RATE, {"Retry-After": "1"}, path_contains=V4.format("contacts"))
    f.hubspot.inject(429, RATE, {"Retry-After": "1"},
                     path_contains=LIST.format("feedback_submissions"))
    f.hubspot.inject(429, RATE, {"Retry-After": "1"}, times=2)
    f.toggl.inject(429, "Too Many Requests", times=2)


def server_errors(f: Sandbox) -> None:
    f.clockify.inject(503, {"message": "unavailable"}, times=2)
    f.hubspot.inject(503, {"message": "unavailable"}, path_contains=V4.format("meetings"),
                     times=2)
    f.hubspot.inject(500, {"message": "internal error"}, path_contains=LIST.format("emails"))
    f.hubspot.inject(502, None, times=2)
    on_soql(f.salesforce, "Task", 503, [{"errorCode": "SERVER_UNAVAILABLE"}], times=2)
    on_soql(f.salesforce, "Event", 500, [{"errorCode": "UNKNOWN_EXCEPTION"}])


def slow(f: Sandbox) -> None:  # the timeout is 1 s
    f.toggl.inject(0, delay_seconds=3, path_contains="/search/")
    f.hubspot.inject(0, delay_seconds=3, path_contains=V4.format("emails"))
    on_soql(f.salesforce, "Event", 0, delay_seconds=3)


def dropped(f: Sandbox) -> None:
    f.hubspot.inject(0, drop=True, path_contains=V4.format("calls"))
    f.hubspot.inject(0, drop=True, path_contains=LIST.format("feedback_submissions"))
    f.hubspot.inject(0, drop=True, path_contains="/deals")
    f.toggl.inject(0, drop=True, path_contains="/search/")
    on_soql(f.salesforce, "Task", 0, drop=True)
    on_soql(f.salesforce, FEEDBACK_OBJECT, 0, drop=True)


def salesforce_limit(f: Sandbox) -> None:
    on_soql(f.salesforce, "Task", 403, LIMIT)
    on_soql(f.salesforce, "Event", 403, LIMIT)
    on_soql(f.salesforce, FEEDBACK_OBJECT, 403, LIMIT)
    f.salesforce.inject(403, LIMIT, path_contains="/queryAll/", times=3)


def toggl_quota(f: Sandbox) -> None:
    f.toggl.limit(4, 402, "You have hit your hourly limit for API calls.", 3600,
                  lambda wait: {"X-Toggl-Quota-Resets-In": str(round(wait))})


def truncated(f: Sandbox) -> None:
    f.clockify.inject(200, raw=b'[{"id": "x", "timeInt', path_contains="/time-entries")
    f.hubspot.inject(200, raw=b'{"status": "COMPLETE", "results": [{"from": {"id": "1',
                     path_contains=V4.format("meetings"))
    on_soql(f.salesforce, "Event", 200, raw=b'{"totalSize": 3, "done": true, "records": [{"a')


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
    soql = fakes.salesforce.__dict__.get("soql_faults")
    left += [f"salesforce: {f.status or 'pass-through'} x{f.times} on FROM {sobject}"
             for sobject, f in (soql.pending if soql else [])]
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
        monkeypatch.setenv("CSM_METRICS_SETTINGS", str(settings_file(tmp_path)))
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
        clear_faults(fakes)
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
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with Sandbox(tiny_company()).start(str(tmp_path)) as fakes:
        env = {**os.environ, **fakes.env(), "WAREHOUSE_PATH": str(warehouse),
               "DAGSTER_HOME": str(home), "CSM_METRICS_WAREHOUSE_LOCK_WAIT": "1",
               "CSM_METRICS_SETTINGS": str(settings_file(tmp_path))}
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
               "DAGSTER_HOME": str(home), "CSM_METRICS_SETTINGS": str(settings_file(tmp_path))}
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
