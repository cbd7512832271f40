"""`python -m benchmarks [--scale 1.0]`: the pipeline at scale, stage by stage.

1. The fakes serve a large company from their own process (so the pipeline's memory is its own).
2. A full backfill of 36 months through the real `dagster asset materialize` commands:
   per stream rows, requests against the minimum, rows/s; wall time and peak memory per run.
   A quarter of the CSMs track time in Toggl, under its hourly quota scaled down: 402s drawn.
3. 1% of the CRM changes; an incremental refresh of the open month: its requests against the
   full run's, and its pipeline time without the HTTP waits (per step, from the run storage).
   `--phase refresh` and `--phase marts` repeat steps 3 and 4 alone on the warehouse a previous
   run left.
4. Every mart, every grain, rebuilt for the 36 months on the loaded warehouse: seconds.
5. The load path alone (records to raw rows) at 1x, 2x and 4x the entries: rows/s and peak
   memory, against DuckDB's `read_ndjson_objects` on the same records, and dlt if installed.
6. The marts published into a throwaway local PostgreSQL through COPY: rows/s and the swap's
   seconds (skipped, saying why, when the machine has no PostgreSQL server binaries).

Prints a table and writes `data/bench/results-<scale>.json`. Targets are checked and reported,
never asserted: a missed target is a finding for docs/performance.md, not a crash.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.company import FIRST_MONTH, MONTHS, Scale
from sandbox.servers import CUSTOM_FIELD_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
PAGE_LIMITS = {  # the most records one request can return, per API (docs/connectors.md)
    ("clockify", "time_entries"): 1000,  # the page size used; Clockify's own cap is undocumented
    ("salesforce", "accounts"): 2000, ("salesforce", "opportunities"): 2000,
    ("salesforce", "users"): 2000, ("salesforce", "account_history"): 2000,
    # queryAll batches of 2,000 for the activities and the feedback object too
    ("salesforce", "tasks"): 2000, ("salesforce", "events"): 2000,
    ("salesforce", "email_messages"): 2000, ("salesforce", "feedback"): 2000,
    ("hubspot", "companies"): 50,  # HubSpot's cap when owner history is asked for
    ("hubspot", "deals"): 100, ("hubspot", "owners"): 100,
    ("hubspot", "calls"): 100, ("hubspot", "meetings"): 100, ("hubspot", "emails"): 100,
    ("hubspot", "feedback_submissions"): 100,
    ("toggl", "time_entries"): 50,  # the detailed report's page, one entry a row
    ("toggl", "users"): 10**9, ("toggl", "projects"): 200,  # users: one unpaged listing
}
# HubSpot streams whose records get their companies from v4 batch association reads, at most
# 1,000 ids a request; feedback submissions also read their contacts' companies (1,000
# contacts a request).
ASSOCIATION_BATCH = 1000
LINKED = {("hubspot", s) for s in ("calls", "meetings", "emails", "feedback_submissions")}
# HubSpot lists archived (deleted) records only with `archived=true`, a listing of its own: one
# request more than the rows need, however few were archived.
ARCHIVED_LISTING = LINKED | {("hubspot", s) for s in ("owners", "companies", "deals")}
# A Salesforce pull of more records than this goes through Bulk API 2.0 (the connector's
# `bulk_threshold`), whose result pages hold 50,000 records (`bulk_page_size`).
BULK_THRESHOLD, BULK_PAGE = 100_000, 50_000
FLAT = 0.15  # "flat" memory: 4x the records peak at most this much above 1x


def minimum_requests(source: str, stream: str, records: int, contacts: int | None = None
                     ) -> tuple[int | None, str]:
    """The fewest requests the API allows for `records` of a stream, and how it is counted."""
    limit = PAGE_LIMITS.get((source, stream))
    if not limit:
        return None, ""
    if source == "salesforce" and records > BULK_THRESHOLD:
        # The first REST page tells the size; then a job is created, polled once, and its
        # results read a page at a time.
        return 3 + math.ceil(records / BULK_PAGE), f"3 + ceil(rows / {BULK_PAGE:,}) (Bulk 2.0)"
    minimum, how = math.ceil(records / limit), f"ceil(rows / {limit:,})"
    if (source, stream) in ARCHIVED_LISTING:
        minimum, how = minimum + 1, how + " + 1 archived listing"
    if (source, stream) in LINKED:
        minimum += math.ceil(records / ASSOCIATION_BATCH)
        how += f" + ceil(rows / {ASSOCIATION_BATCH:,}) v4"
        if contacts is not None:
            minimum += math.ceil(contacts / ASSOCIATION_BATCH)
            how += f" + ceil(contacts / {ASSOCIATION_BATCH:,}) v4"
    return minimum, how


def measured(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a command in a child that reports the command's own peak memory."""
    probe = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", probe, *command], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.monotonic() - started
    peak_kb, code = done.stdout.strip().splitlines()[-1].split()
    if int(code) != 0:
        sys.stderr.write(done.stderr[-6000:])
        raise SystemExit(f"benchmark step failed: {' '.join(command[:6])}")
    return {"wall_seconds": round(wall, 2), "peak_rss_mb": round(int(peak_kb) / 1024, 1)}


def materialize(env: dict[str, str], select: str, partition_range: str | None = None
                ) -> dict[str, Any]:
    command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
               "pipelines.definitions", "--select", select]
    if partition_range:
        command += ["--partition-range", partition_range]
    return measured(command, env)


def stream_metadata(home: Path) -> dict[str, dict[str, Any]]:
    """The latest materialization metadata of each raw stream, from the run storage."""
    from dagster import AssetKey, DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home)
    found = {}
    with DagsterInstance.get() as instance:
        for key in instance.get_asset_keys():
            if key.path[0] != "raw":
                continue
            event = instance.get_latest_materialization_event(AssetKey(key.path))
            if event and event.asset_materialization:
                meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
                if "records" in meta:
                    found[f"{key.path[1]}/{key.path[2]}"] = meta
    return found


def run_steps(home: Path, runs: int) -> list[dict[str, Any]]:
    """The steps of the latest `runs` runs, oldest first: each step's seconds, from the run
    storage (where a run's time goes)."""
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home)
    found = []
    with DagsterInstance.get() as instance:
        for run in reversed(instance.get_runs(limit=runs)):
            steps = sorted(((s.step_key, round((s.end_time or 0) - (s.start_time or 0), 2))
                            for s in instance.get_run_step_stats(run.run_id)),
                           key=lambda step: -step[1])
            found.append({"run_id": run.run_id, "job": run.job_name,
                          "steps": [{"step": k, "seconds": t} for k, t in steps]})
    return found


def pull_table(meta: dict[str, dict[str, Any]], rows_per_user: dict[str, int] | None = None,
               crm: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows, requests and the minimum per stream; `crm` is what the fakes say of the CRM (the
    distinct contacts behind the feedback submissions, the requests per path)."""
    table = []
    contacts = (crm or {}).get("feedback_contacts")
    for name, m in sorted(meta.items()):
        source, stream = name.split("/")
        records, requests = int(m["records"]), int(m["requests"])
        if not records:
            continue
        minimum, how = minimum_requests(source, stream, records,
                                        contacts if stream == "feedback_submissions" else None)
        row = {"stream": name, "rows": records, "requests": requests, "minimum": minimum,
               "minimum_is": how,
               "over_minimum": round(requests / minimum - 1, 3) if minimum else None,
               "seconds": m.get("elapsed_seconds"), "http_seconds": m.get("http_seconds"),
               "rows_per_s": round(records / max(float(m.get("elapsed_seconds") or 0), 1e-9))}
        if (source, stream) == ("clockify", "time_entries") and rows_per_user:
            # Clockify lists entries per user: a page never spans two users, and a listing
            # ends on a short page (one more request when a user's count is a page multiple).
            limit = PAGE_LIMITS[(source, stream)]
            row["minimum_per_user_api"] = sum(n // limit + 1 for n in rows_per_user.values()) + 1
            row["over_minimum"] = round(requests / row["minimum_per_user_api"] - 1, 3)
        table.append(row)
    return table


def rebuild_marts(warehouse: Path, scale: Scale) -> dict[str, Any]:
    """Every mart rebuilt three times for the 36 months, then three times for the daily
    refresh's month, with the settings the pipeline ran with (beside the warehouse)."""
    code = f"""
import json, time
from datetime import date
import duckdb
from pipelines.crm import assets as crm
from pipelines.deployment import Deployment
from pipelines.resources import SettingsResource
from pipelines.time_tracking import assets as tt
from warehouse.marts import build_month_marts
from warehouse.schema import prepare
from warehouse.locations import DEFAULT_MEMORY_LIMIT
conn = duckdb.connect({str(warehouse)!r}, config={{"memory_limit": DEFAULT_MEMORY_LIMIT}})
# A session option: DuckDB refuses it in the connection's (global) config.
conn.execute("set enable_progress_bar = false")
settings = SettingsResource(path=Deployment.from_env().settings_path).get()
started = time.monotonic()
prepare(conn, [*crm.STREAMS, *tt.STREAMS], settings.for_warehouse(), settings.tables())
prepared = time.monotonic() - started
times = []
for _ in range(3):
    started = time.monotonic()
    written = build_month_marts(conn, date.fromisoformat({FIRST_MONTH.isoformat()!r}),
                                date.fromisoformat({scale.end.isoformat()!r}), "bench")
    times.append(time.monotonic() - started)
# The daily refresh's build: the open month, and the quarter, year and ttm periods it is in.
last = date.fromisoformat({scale.last_month.isoformat()!r})
month_times = []
for _ in range(3):
    started = time.monotonic()
    build_month_marts(conn, last, date.fromisoformat({scale.end.isoformat()!r}), "bench")
    month_times.append(time.monotonic() - started)
entries = conn.execute("select (select count(*) from raw.clockify__time_entries) + "
                       "(select count(*) from raw.toggl__time_entries)").fetchone()[0]
print(json.dumps({{"prepare_seconds": round(prepared, 3), "best_seconds": round(min(times), 3),
                  "runs": [round(t, 3) for t in times], "rows_written": written,
                  "month_best_seconds": round(min(month_times), 3),
                  "month_runs": [round(t, 3) for t in month_times],
                  "entries": entries}}))
"""
    settings = {"CSM_METRICS_SETTINGS": str(warehouse.parent / "settings.toml")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **settings})
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit("rebuilding the marts failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def postgres_publish(warehouse: Path, folder: Path) -> dict[str, Any]:
    """benchmarks/pg_publish.py in a child, so its server and COPY stay out of the others."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.pg_publish", str(warehouse),
                           str(folder)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ})
    if done.returncode != 0:
        return {"skipped": f"the PostgreSQL publish failed: {done.stderr.strip()[-500:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_path(entries: int, folder: Path, compare: bool) -> dict[str, Any]:
    """The landing's rate and memory in one child; the comparisons (which hold their own data
    in memory) in another, so they do not count in the landing's peak."""
    command = [sys.executable, "-m", "benchmarks.load_path", str(entries), str(folder)]
    result = measured(command, {**os.environ})
    report = json.loads((folder / f"load-{entries}.json").read_text())
    if compare:
        measured([*command, "--compare-only"], {**os.environ})
        report |= json.loads((folder / f"compare-{entries}.json").read_text())
        report["land_vs_ndjson_objects"] = round(
            report["land_rows_per_s"] / report["ndjson_rows_per_s"], 3)
        if "dlt_rows_per_s" in report:
            report["land_vs_dlt"] = round(report["land_rows_per_s"] / report["dlt_rows_per_s"], 1)
    return {**report, "peak_rss_mb": result["peak_rss_mb"]}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0 = 300 CSMs, 20,000 accounts, 3,000,000 time entries")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--memory-scales", default="1,2,4",
                        help="multiples of the entries for the load-path memory curve")
    parser.add_argument("--phase", choices=("all", "refresh", "marts"), default="all",
                        help="refresh: only the incremental refresh; marts: only the marts' "
                             "rebuilds; each on a previous run's warehouse in --out")
    args = parser.parse_args()
    scale = Scale(args.scale)
    if args.phase == "refresh":
        return refresh_again(args, scale)
    if args.phase == "marts":
        return rebuild_again(args, scale)
    work = args.out / f"scale-{args.scale:g}"
    if work.exists():
        subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    warehouse = work / "warehouse.duckdb"
    results: dict[str, Any] = {
        "scale": args.scale, "csms": scale.csms, "accounts": scale.accounts,
        "entries_target": scale.entries, "months": MONTHS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "duckdb": duckdb.__version__, "platform": platform.platform()},
        "provenance": provenance()}

    print(f"Benchmark at scale {args.scale:g}: {scale.csms} CSMs, {scale.accounts:,} accounts, "
          f"{scale.entries:,} time entries over {MONTHS} months", flush=True)
    fakes, fake_env = start_fakes(args.scale, work)
    env = {**os.environ, **fake_env, "WAREHOUSE_PATH": str(warehouse),
           "DAGSTER_HOME": str(home), "CSM_METRICS_SETTINGS": str(work / "settings.toml")}
    (work / "settings.toml").write_text(f'first_month = "{FIRST_MONTH:%Y-%m}"\n'
                                        + CUSTOM_FIELD_SETTINGS)
    months = f"{FIRST_MONTH.isoformat()}...{scale.last_month.isoformat()}"
    try:
        print("full backfill: sources ...", flush=True)
        full_sources = materialize(env, "tag:partitioning=none")
        print(f"  {full_sources}\nfull backfill: {MONTHS} months of entries, marts, publish ...",
              flush=True)
        full_months = materialize(env, "tag:partitioning=monthly or key:bi/published_marts",
                                  months)
        print(f"  {full_months}", flush=True)
        full = stream_metadata(home)
        crm_facts = ask(fakes, "crm")
        results["full"] = {"sources_run": full_sources, "months_run": full_months,
                           "streams": pull_table(full, ask(fakes, "rows_per_user"), crm_facts),
                           "toggl_quota": ask(fakes, "toggl"), "crm": crm_facts,
                           "runs": run_steps(home, 2)}

        results["incremental"] = refresh(fakes, env, home, scale, full)
    finally:
        assert fakes.stdin
        fakes.stdin.close()
        fakes.wait(timeout=60)

    print("rebuilding every mart for 36 months ...", flush=True)
    results["marts"] = ({**rebuild_marts(warehouse, scale), "provenance": provenance()}
                        if warehouse.exists() else {})
    print("publishing the marts into PostgreSQL ...", flush=True)
    results["postgres"] = postgres_publish(warehouse, work) if warehouse.exists() else {}

    curve = []
    for n, multiple in enumerate(int(m) for m in args.memory_scales.split(",")):
        entries = scale.entries * multiple
        print(f"load path: {entries:,} records ...", flush=True)
        curve.append({"multiple": multiple, **load_path(entries, work, compare=n == 0)})
    results["load_path"] = curve
    results["targets"] = targets(results)

    out = args.out / f"results-{args.scale:g}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_report(results)
    print(f"\nwritten: {out}")
    return 0


def start_fakes(scale: float, work: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    fakes = subprocess.Popen([sys.executable, "-m", "benchmarks.fakes", str(scale), str(work)],
                             cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert fakes.stdin and fakes.stdout
    return fakes, json.loads(fakes.stdout.readline())


def ask(fakes: subprocess.Popen[str], command: str) -> Any:
    """One command to the fakes' process (benchmarks/fakes.py), its JSON answer."""
    assert fakes.stdin and fakes.stdout
    fakes.stdin.write(command + "\n")
    fakes.stdin.flush()
    return json.loads(fakes.stdout.readline())


# The daily refresh as the daemon's schedule runs it: one Python process that has already
# imported the definitions runs the refresh selection for the open month (the same assets the
# two CLI commands select), in process. argv: the open month, where to write what it measured.
WARM_REFRESH = """
import json, sys, time
started = time.monotonic()
from dagster import AssetSelection, DagsterInstance
from pipelines.definitions import defs
imported = time.monotonic() - started
selection = (AssetSelection.tag("partitioning", "none") | AssetSelection.tag(
    "partitioning", "monthly") | AssetSelection.assets("bi/published_marts"))
with DagsterInstance.get() as instance:
    job = defs.resolve_job_def("refresh")
    keys = selection.resolve(defs.resolve_asset_graph())
    started = time.monotonic()
    result = job.execute_in_process(instance=instance, partition_key=sys.argv[1],
                                    asset_selection=list(keys), raise_on_error=False)
    ran = time.monotonic() - started
with open(sys.argv[2], "w") as out:
    json.dump({"import_seconds": round(imported, 2), "run_seconds": round(ran, 2),
               "success": result.success, "run_id": result.run_id}, out)
sys.exit(0 if result.success else 1)
"""


def overlapped_http(meta: dict[str, dict[str, Any]]) -> float:
    """The APIs' waits as the wall sees them: each raw step pulls its sources on threads at the
    same time (pipelines/raw.py), so a step waits for its slowest source's HTTP, not the sum;
    per step (directories, time entries), the largest of its sources' summed http_seconds."""
    per: dict[tuple[bool, str], float] = {}
    for name, m in meta.items():
        source, stream = name.split("/", 1)
        key = (stream == "time_entries", source)
        per[key] = per.get(key, 0.0) + float(m.get("http_seconds") or 0)
    return sum(max((v for (entries, _), v in per.items() if entries == step), default=0.0)
               for step in (False, True))


def refresh(fakes: subprocess.Popen[str], env: dict[str, str], home: Path, scale: Scale,
            full: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """1% of the CRM edited, then the daily refresh: the sources, then the open month, from the
    CLI (two processes); then 1% more edited and the same refresh in one warm process."""
    changed = ask(fakes, "change 0.01")
    print(f"incremental refresh after {changed} ...", flush=True)
    open_month = scale.last_month.isoformat()
    inc_sources = materialize(env, "tag:partitioning=none")
    inc_months = materialize(env, "tag:partitioning=monthly or key:bi/published_marts",
                             f"{open_month}...{open_month}")
    incremental = stream_metadata(home)
    full_requests = sum(int(m["requests"]) for m in full.values())
    inc_requests = sum(int(m["requests"]) for m in incremental.values())
    crm = [k for k in incremental if not k.startswith(("clockify/", "toggl/"))]
    crm_requests = sum(int(incremental[k]["requests"]) for k in crm)
    # Every raw stream is pulled again by one of the two runs: their HTTP waits are the runs'.
    http = sum(float(m.get("http_seconds") or 0) for m in incremental.values())
    http_wall = overlapped_http(incremental)
    wall = inc_sources["wall_seconds"] + inc_months["wall_seconds"]
    cli_runs = run_steps(home, 2)
    warm = warm_refresh(fakes, env, home, open_month)
    return {
        "changed": changed, "sources_run": inc_sources, "months_run": inc_months,
        "streams": pull_table(incremental), "requests": inc_requests,
        "full_requests": full_requests, "share_of_full": round(inc_requests / full_requests, 4),
        "crm_requests": crm_requests,
        "crm_share_of_full": round(crm_requests / full_requests, 4),
        "http_seconds": round(http, 2), "http_wall_seconds": round(http_wall, 2),
        "wall_seconds": round(wall, 2),
        # The wall less the APIs' waits as the wall saw them (sources overlap).
        "pipeline_seconds": round(wall - http_wall, 2), "runs": cli_runs, "warm": warm}


def warm_refresh(fakes: subprocess.Popen[str], env: dict[str, str], home: Path,
                 open_month: str) -> dict[str, Any]:
    """1% more of the CRM edited, then the refresh in one process that imported the
    definitions first (WARM_REFRESH): its run's wall, its pipeline time, its import apart."""
    changed = ask(fakes, "change 0.01")
    print(f"the same refresh in one warm process, after {changed} ...", flush=True)
    report = home / "warm_refresh.json"
    process = measured([sys.executable, "-c", WARM_REFRESH, open_month, str(report)], env)
    done = json.loads(report.read_text())
    meta = stream_metadata(home)
    http_wall = overlapped_http(meta)
    return {"changed": changed, "process": process, **done,
            "requests": sum(int(m["requests"]) for m in meta.values()),
            "http_seconds": round(sum(float(m.get("http_seconds") or 0)
                                      for m in meta.values()), 2),
            "http_wall_seconds": round(http_wall, 2),
            "pipeline_seconds": round(done["run_seconds"] - http_wall, 2),
            "runs": run_steps(home, 1)}


def refresh_again(args: argparse.Namespace, scale: Scale) -> int:
    """`--phase refresh`: the refresh step alone, on the warehouse and run storage a whole
    benchmark left in `--out`; its results replace that run's `incremental`."""
    work = args.out / f"scale-{args.scale:g}"
    out = args.out / f"results-{args.scale:g}.json"
    if not (work / "warehouse.duckdb").exists() or not out.exists():
        raise SystemExit(f"no benchmark at scale {args.scale:g} in {args.out} to refresh: "
                         "run `python -m benchmarks` first")
    results = json.loads(out.read_text())
    home = work / "dagster_home"
    fakes, fake_env = start_fakes(args.scale, work)
    env = {**os.environ, **fake_env, "WAREHOUSE_PATH": str(work / "warehouse.duckdb"),
           "DAGSTER_HOME": str(home), "CSM_METRICS_SETTINGS": str(work / "settings.toml")}
    try:
        full = {s["stream"]: {"requests": s["requests"]} for s in results["full"]["streams"]}
        results["incremental"] = {**refresh(fakes, env, home, scale, full),
                                  "provenance": provenance()}
    finally:
        assert fakes.stdin
        fakes.stdin.close()
        fakes.wait(timeout=60)
    results["targets"] = targets(results)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_report(results)
    print(f"\nwritten: {out}")
    return 0


def rebuild_again(args: argparse.Namespace, scale: Scale) -> int:
    """`--phase marts`: the marts' rebuilds alone (every mart for the 36 months, then the
    daily refresh's month), on the warehouse a whole benchmark left in `--out`; its results
    replace that run's `marts`, with the code they were measured on."""
    work = args.out / f"scale-{args.scale:g}"
    out = args.out / f"results-{args.scale:g}.json"
    warehouse = work / "warehouse.duckdb"
    if not warehouse.exists() or not out.exists():
        raise SystemExit(f"no benchmark at scale {args.scale:g} in {args.out} to rebuild: "
                         "run `python -m benchmarks` first")
    results = json.loads(out.read_text())
    results["marts"] = {**rebuild_marts(warehouse, scale), "provenance": provenance()}
    results["targets"] = targets(results)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_report(results)
    print(f"\nwritten: {out}")
    return 0


def provenance(root: Path = ROOT) -> dict[str, Any]:
    """The code a phase was measured on: a record whose phases were re-run (`--phase`) says
    which commit each figure comes from."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            # the records this writes are left out: a re-run phase finds the last one edited
            "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no",
                                            "--", ".", ":(exclude)data/bench")),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    first = r["load_path"][0]
    entries = next((s for s in r["full"]["streams"] if s["stream"] == "clockify/time_entries"),
                   {})
    toggl = next((s for s in r["full"]["streams"] if s["stream"] == "toggl/time_entries"), {})
    quota = r["full"].get("toggl_quota") or {}
    worst = max((s["over_minimum"] for s in r["full"]["streams"]
                 if s["over_minimum"] is not None), default=0)
    refresh = r["incremental"]
    peaks = [c["peak_rss_mb"] for c in r["load_path"]]
    checks = [
        ("landing >= 500,000 rows/s, >= half of read_ndjson_objects' and >= 100x dlt's "
         "default",
         f"{first['land_rows_per_s']:,} rows/s; read_ndjson_objects "
         f"{first.get('ndjson_rows_per_s', 0):,}; {first.get('land_vs_dlt')}x dlt",
         first["land_rows_per_s"] >= 500_000
         and first["land_rows_per_s"] >= first.get("ndjson_rows_per_s", math.inf) / 2
         and (first.get("land_vs_dlt") or 0) >= 100),
        ("full pull within 5% of the minimum requests",
         f"worst stream {worst:+.1%}; time entries {entries.get('requests')} vs per-user "
         f"minimum {entries.get('minimum_per_user_api')}; Toggl's time entries "
         f"{toggl.get('requests')} vs ceil(rows / 50) = {toggl.get('minimum')}", worst <= 0.05),
        ("Toggl paced within its quota: no 402 drawn",
         f"{quota.get('quota_refusals')} 402s in {quota.get('requests')} requests at "
         f"{quota.get('quota')}", quota.get("quota_refusals") == 0),
        ("incremental after 1% changed <= 2% of the full run's requests",
         f"CRM pulls {refresh['crm_share_of_full']:.2%}; with the open month's time "
         f"entries re-read {refresh['share_of_full']:.2%}", refresh["crm_share_of_full"] <= 0.02),
        ("all marts, 36 months, every grain <= 5 s", f"{r['marts'].get('best_seconds')} s",
         (r["marts"].get("best_seconds") or math.inf) <= 5),
        ("the one-month build the daily refresh runs <= 1 s",
         f"{r['marts'].get('month_best_seconds')} s",
         (r["marts"].get("month_best_seconds") or math.inf) <= 1),
        ("the daily refresh's pipeline time, HTTP waits excluded, <= 5 s",
         f"{refresh.get('pipeline_seconds')} s ({refresh.get('wall_seconds')} s wall less "
         f"{refresh.get('http_wall_seconds', refresh.get('http_seconds'))} s on the APIs) "
         f"from the CLI; {(refresh.get('warm') or {}).get('pipeline_seconds')} s in one warm "
         "process",
         (refresh.get("pipeline_seconds") or math.inf) <= 5),
        (f"peak memory < 1,000 MB in every phase, landing flat at 1x/2x/4x (the largest "
         f"within {FLAT:.0%} of the first)",
         ", ".join(f"{c['multiple']}x {c['peak_rss_mb']} MB" for c in r["load_path"])
         + f"; backfill runs {r['full']['sources_run']['peak_rss_mb']} and "
         f"{r['full']['months_run']['peak_rss_mb']} MB",
         max(peaks) < 1000 and max(peaks) <= peaks[0] * (1 + FLAT)
         and r["full"]["sources_run"]["peak_rss_mb"] < 1000
         and r["full"]["months_run"]["peak_rss_mb"] < 1000),
    ]
    return [{"target": t, "measured": m, "met": bool(ok)} for t, m, ok in checks]


def print_report(r: dict[str, Any]) -> None:
    print(f"\n{'stream':<32}{'rows':>11}{'requests':>10}{'minimum':>9}{'over':>8}"
          f"{'rows/s':>10}  minimum is")
    for s in r["full"]["streams"]:
        over = f"{s['over_minimum']:+.1%}" if s["over_minimum"] is not None else "-"
        minimum = s.get("minimum_per_user_api") or s["minimum"] or 0
        how = "per user: sum(rows // 1,000 + 1) + 1" if s.get("minimum_per_user_api") \
            else s.get("minimum_is", "")
        print(f"{s['stream']:<32}{s['rows']:>11,}{s['requests']:>10,}"
              f"{minimum:>9,}{over:>8}{s['rows_per_s']:>10,}  {how}")
    print(f"\nfull backfill: sources {r['full']['sources_run']}, months "
          f"{r['full']['months_run']}")
    quota = r["full"].get("toggl_quota") or {}
    print(f"toggl: {quota.get('requests')} requests under a quota of {quota.get('quota')}, "
          f"{quota.get('quota_refusals')} answered 402")
    print(f"incremental: CRM pulls {r['incremental']['crm_requests']} requests = "
          f"{r['incremental']['crm_share_of_full']:.2%} of the full run's "
          f"{r['incremental']['full_requests']}; with the open month's entries "
          f"{r['incremental']['requests']} = {r['incremental']['share_of_full']:.2%}; "
          f"pipeline time {r['incremental'].get('pipeline_seconds')} s of "
          f"{r['incremental'].get('wall_seconds')} s wall")
    for run in r["incremental"].get("runs", []):
        print(f"  {run['job']}: " + ", ".join(f"{s['step']} {s['seconds']} s"
                                             for s in run["steps"][:6]))
    warm = r["incremental"].get("warm") or {}
    if warm:
        print(f"the same refresh in one warm process: pipeline time "
              f"{warm.get('pipeline_seconds')} s of {warm.get('run_seconds')} s "
              f"(definitions imported first in {warm.get('import_seconds')} s; "
              f"{warm.get('requests')} requests)")
        for run in warm.get("runs", []):
            print(f"  {run['job']}: " + ", ".join(f"{s['step']} {s['seconds']} s"
                                                 for s in run["steps"][:6]))
    print(f"marts, 36 months, all grains: {r['marts'].get('best_seconds')} s "
          f"(views prepared in {r['marts'].get('prepare_seconds')} s); the last month "
          f"alone: {r['marts'].get('month_best_seconds')} s")
    pg = r.get("postgres") or {}
    if "rows_per_s" in pg:
        print(f"PostgreSQL publish (COPY): {pg['rows']:,} rows in {pg['load_seconds']} s = "
              f"{pg['rows_per_s']:,} rows/s; swap {pg['swap_seconds']} s")
    else:
        print(f"PostgreSQL publish: skipped ({pg.get('skipped', 'no warehouse')})")
    print(f"\n{'records':>12}{'land rows/s':>13}{'peak MB':>9}{'ndjson rows/s':>15}"
          f"{'dlt rows/s':>12}")
    for c in r["load_path"]:
        print(f"{c['records']:>12,}{c['land_rows_per_s']:>13,}{c['peak_rss_mb']:>9}"
              f"{c.get('ndjson_rows_per_s', '-'):>15}{c.get('dlt_rows_per_s', '-'):>12}")
    print("\ntargets:")
    for t in r["targets"]:
        print(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}")


if __name__ == "__main__":
    sys.exit(main())
