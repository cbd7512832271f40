"""The one-command demo: start the fake APIs, backfill 24 months through Dagster, print tables.

The runs are the named jobs `pull_sources` and `monthly_metrics`, launched through the real `dg
launch` command with a kept `DAGSTER_HOME`, so `make ui` shows their history afterwards. Nothing
here needs an account anywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pipelines.report import report_path, write_report
from pipelines.settings import load_settings
from sandbox.company import HISTORY_END, HISTORY_START, add_months, generate_company
from sandbox.servers import Sandbox
from warehouse.bi_files import write_bi_files
from warehouse.dbt_sources import write_dbt_sources
from warehouse.publishing import current_version, extract_path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA = PROJECT_ROOT / "data"
WAREHOUSE = DATA / "demo" / "warehouse.duckdb"
PUBLISHED = DATA / "demo" / "published" / "csm_metrics.duckdb"
BI_FILES = DATA / "demo" / "bi"
REPORT = DATA / "demo" / "report.html"
DAGSTER_HOME = DATA / "dagster_home"
SETTINGS = Path(__file__).with_name("settings.toml")
FIRST_MONTH = HISTORY_START
LAST_MONTH = add_months(HISTORY_END, -1)


def demo_env(sandbox: Sandbox) -> dict[str, str]:
    DAGSTER_HOME.mkdir(parents=True, exist_ok=True)
    shipped = PROJECT_ROOT / "deploy" / "dagster.yaml"
    (DAGSTER_HOME / "dagster.yaml").write_text(shipped.read_text())
    WAREHOUSE.parent.mkdir(parents=True, exist_ok=True)
    return {**os.environ, **sandbox.env(), "WAREHOUSE_PATH": str(WAREHOUSE),
            "DAGSTER_HOME": str(DAGSTER_HOME), "CSM_METRICS_SETTINGS": str(SETTINGS),
            # A range's runs plan it in one event per asset, not one per month
            # (docs/architecture.md, Dagster).
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}


# A line of Dagster's event log: `... - <job> - <run id> - <pid> - [<step> - ]<EVENT> - <message>`.
_EVENT = re.compile(r" - (?P<job>\w+) - (?P<run>[0-9a-f-]{36}) - \d+ - (?:(?P<step>[\w.-]+) - )?"
                    r"(?P<event>RUN_START|RUN_SUCCESS|RUN_FAILURE|STEP_SUCCESS|STEP_FAILURE)"
                    r"(?: - Finished execution of step \"[^\"]+\" in (?P<took>\S+)\.)?")


def run_job(env: dict[str, str], job: str, partition_range: str | None = None) -> None:
    """One run of a named job through the `dg launch` command, printing its id and each step as
    it finishes (Dagster's own log goes to data/demo/<job>.log); a failed run stops the demo
    with the end of that log."""
    command = [sys.executable, "-m", "dagster_dg_cli.cli", "launch", "--job", job,
               "-m", "pipelines.definitions"]
    if partition_range:
        command += ["--partition-range", partition_range]
    print(f"\n$ dg launch --job {job}"
          + (f" --partition-range {partition_range}" if partition_range else ""), flush=True)
    log = WAREHOUSE.parent / f"{job}.log"
    started, steps = time.monotonic(), 0
    with log.open("w") as kept, subprocess.Popen(
            command, env=env, cwd=PROJECT_ROOT, stdout=kept, stderr=subprocess.PIPE,
            text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:
            kept.write(line)
            found = _EVENT.search(line)
            if not found:
                continue
            event = found["event"]
            if event == "RUN_START":
                print(f"  run {found['run']} of {found['job']} started", flush=True)
            elif event == "STEP_SUCCESS":
                steps += 1
                took = f" ({found['took']})" if found["took"] else ""
                print(f"  {steps:>3}. {found['step']}{took}", flush=True)
            elif event == "STEP_FAILURE":
                print(f"  FAILED: {found['step']}", flush=True)
    if process.returncode != 0:
        sys.stderr.write(log.read_text()[-8000:])
        raise SystemExit(f"the Dagster run of {job} failed (exit {process.returncode}); its "
                         f"log: {log}")
    print(f"  ok: {job}, {steps} steps in {time.monotonic() - started:.1f}s", flush=True)


def demo() -> int:
    print("Generating the sandbox company and starting fake Salesforce, HubSpot, Toggl and "
          "Clockify on 127.0.0.1 ...", flush=True)
    company = generate_company()
    with Sandbox(company) as sandbox:
        env = demo_env(sandbox)
        print(f"  {len(company.people) - 1} CSMs, {len(company.accounts)} accounts, "
              f"{len(company.deals)} deals, {len(company.entries)} time entries")
        run_job(env, "pull_sources")
        run_job(env, "monthly_metrics", f"{FIRST_MONTH.isoformat()}...{LAST_MONTH.isoformat()}")
        requests = {s.name: s.request_count for s in sandbox.servers}
    print(f"  HTTP requests served: {requests}")
    with duckdb.connect(str(WAREHOUSE), read_only=True) as conn:
        print_report(conn, LAST_MONTH)
    version, files, shown = write_demo_files()
    print(f"\nWarehouse (the pipeline's own): {WAREHOUSE}")
    print(f"Published for BI (read-only, swapped whole per run): {PUBLISHED} -> {version.name}")
    extract = extract_path(PUBLISHED)
    print(f"Tableau Hyper extract of it: {extract} -> {current_version(extract).name}")
    print(f"LookML views, Tableau data sources and a dbt sources.yml: {BI_FILES} "
          f"({len(files)} files)")
    print("Next: make ui (Dagster UI with this run history, http://127.0.0.1:3000); make pg (a "
          "local PostgreSQL with the marts for Looker or psql, 127.0.0.1:5433; make pg-stop "
          "stops it)")
    print(f"The CS leader's report, month of {shown} (opens offline in a browser): {REPORT}")
    return 0


def write_demo_files() -> tuple[Path, list[Path], date | None]:
    """The published version, the BI files written from it (LookML, .tds and the dbt
    sources.yml, as `make bi-files` writes them) and the month the report shows. The report is
    the one the run's `bi/report` asset wrote from this version, copied to REPORT; rendered
    again only when the run wrote none (docs/report.md)."""
    version = current_version(PUBLISHED)
    with duckdb.connect(str(version), read_only=True) as conn:
        files = write_bi_files(conn, BI_FILES, PUBLISHED)
        files.append(write_dbt_sources(conn, BI_FILES))
    written = reported_month(version)
    if written is None:
        return version, files, write_report(version, load_settings(SETTINGS), REPORT)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    staged = REPORT.with_name(f".{REPORT.name}.copying")
    shutil.copyfile(report_path(PUBLISHED), staged)
    os.replace(staged, REPORT)
    return version, files, written[0]


def reported_month(version: Path) -> tuple[date | None] | None:
    """The month of the report the last run wrote from `version` (its materialization's
    metadata), in a 1-tuple; None when no run wrote one from it."""
    from dagster import AssetKey, DagsterInstance  # the runs' storage, read once at the end

    with DagsterInstance.from_config(str(DAGSTER_HOME)) as instance:
        event = instance.get_latest_materialization_event(AssetKey(["bi", "report"]))
    if event is None or event.asset_materialization is None:
        return None
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    if not meta.get("written") or meta.get("published_version") != version.name \
            or not report_path(PUBLISHED).is_file():
        return None
    month = meta.get("month")
    return (date.fromisoformat(str(month)) if month else None,)


def print_report(conn: duckdb.DuckDBPyConnection, month: date) -> None:
    csm = conn.execute("""
        select csm_name, accounts_managed, arr_managed, nrr, grr, hours_worked,
               accounts_per_hour, utilization, cost_per_account, arr_band
        from marts.csm_period_metrics
        where period_grain = 'month' and period_start = $month
        order by csm_id = 'unassigned', arr_managed desc""", {"month": month}).fetchall()
    print(f"\nPer-CSM metrics, {month:%B %Y} (marts.csm_period_metrics)")
    print_table(["CSM", "accounts", "ARR managed", "NRR", "GRR", "hours", "accounts/hour",
                 "utilization", "cost/account", "ARR band"], csm)
    names = ["CSMs", "customers", "customers per CSM", "total ARR", "ARR per CSM",
             "starting ARR", "new ARR", "reactivation ARR", "expansion ARR", "contraction ARR",
             "churned ARR", "NRR", "GRR", "logo retention", "hours worked",
             "hours unattributed", "customers per hour", "fully loaded cost",
             "cost per customer"]
    team_sql = """
        select period_start, csm_count, customer_count, csm_ratio, total_arr,
               revenue_efficiency, starting_arr, new_arr, reactivation_arr, expansion_arr,
               contraction_arr, churned_arr, nrr, grr, logo_retention, hours_worked,
               hours_unattributed, account_efficiency, fully_loaded_cost, cost_per_customer
        from marts.team_period_metrics
        where period_grain = $grain and period_end <= $end
        order by period_start desc limit 1"""
    end = add_months(month, 1)
    month_row = conn.execute(team_sql, {"grain": "month", "end": end}).fetchone()
    quarter_row = conn.execute(team_sql, {"grain": "quarter", "end": end}).fetchone()
    if month_row is None or quarter_row is None:
        raise SystemExit("the marts have no team rows: did the Dagster runs write anything?")
    quarter = quarter_row[0]
    print(f"\nTeam (marts.team_period_metrics)   {month:%B %Y}"
          f"   quarter from {quarter:%B %Y}")
    width = max(map(len, names))
    for name, value, of_quarter in zip(names, month_row[1:], quarter_row[1:], strict=True):
        print(f"  {name:<{width}}  {fmt(value):>14}  {fmt(of_quarter):>14}")
    activities = conn.execute("""
        select activity, round(sum(hours), 6),
               round(sum(hours) / sum(sum(hours)) over (), 6)
        from marts.csm_activity_hours
        where period_grain = 'quarter' and period_start = $quarter
        group by activity order by 2 desc""", {"quarter": quarter}).fetchall()
    print(f"\nWhere the hours went, quarter from {quarter:%B %Y} (marts.csm_activity_hours)")
    print_table(["activity", "hours", "share"], activities)
    print_engagement(conn, month)
    print_churn_reasons(conn, end)


def print_engagement(conn: duckdb.DuckDBPyConnection, month: date) -> None:
    """What each CSM did with customers in the month and what came of it (docs/metrics.md,
    touchpoints, NPS and CSAT, expansion sourcing, onboarding)."""
    rows = conn.execute("""
        select csm_name, touchpoints, accounts_touched, touch_coverage, median_response_hours,
               responses_within_24h, unanswered_messages, cast(round(nps) as integer), csat,
               csm_sourced_bookings_arr, csm_sourced_win_rate, onboarding_hours_per_new_account
        from marts.csm_period_metrics
        where period_grain = 'month' and period_start = $month
        order by csm_id = 'unassigned', arr_managed desc""", {"month": month}).fetchall()
    print(f"\nEngagement and outcomes, {month:%B %Y} (marts.csm_period_metrics)")
    print_table(["CSM", "touchpoints", "touched", "coverage", "median reply h", "in 24 h",
                 "unanswered", "NPS", "CSAT", "CSM-sourced ARR", "win rate", "onboarding h/new"],
                rows)


def print_churn_reasons(conn: duckdb.DuckDBPyConnection, end: date) -> None:
    """The churn and contraction reasons of the last full year ending by `end`, as a Pareto by
    revenue: each reason's share of the movement's ARR and the running total."""
    year = conn.execute("""
        select max(period_start) from marts.team_period_metrics
        where period_grain = 'year' and period_end <= $end""", {"end": end}).fetchone()
    if year is None or year[0] is None:
        print("\nChurn reasons: no full year in the marts yet")
        return
    for movement in ("churn", "contraction"):
        rows = conn.execute("""
            select reason, accounts, arr, share_of_arr,
                   sum(share_of_arr) over (order by rank_by_arr
                                           rows between unbounded preceding and current row)
            from marts.churn_reasons
            where period_grain = 'year' and period_start = $year and movement = $movement
            order by rank_by_arr""", {"year": year[0], "movement": movement}).fetchall()
        print(f"\n{movement.capitalize()} reasons, year from {year[0]:%B %Y} "
              "(marts.churn_reasons, by ARR)")
        if rows:
            print_table(["reason", "accounts", "ARR", "share of ARR", "cumulative"], rows)
        else:
            print(f"  no {movement} in the year")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  " + "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                           for i, (h, w) in enumerate(zip(headers, widths, strict=True))))
    for row in cells:
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if hasattr(value, "quantize"):  # Decimal money
        return f"{value:,.0f}"
    return str(value)


def ui() -> int:
    """The Dagster UI on the demo warehouse, with the fakes running so runs can be launched."""
    with Sandbox(generate_company()) as sandbox:
        env = demo_env(sandbox)
        print(f"Dagster UI on {WAREHOUSE} (DAGSTER_HOME={DAGSTER_HOME}); Ctrl-C to stop.")
        try:
            return subprocess.call([sys.executable, "-m", "dagster_dg_cli.cli", "dev", "-w",
                                    "workspace.yaml", "-h", "127.0.0.1", "-p",
                                    os.environ.get("DAGSTER_PORT", "3000")],
                                   env=env, cwd=PROJECT_ROOT)
        except KeyboardInterrupt:
            return 0


def serve() -> int:
    """Only the fake APIs: prints the variables that point the pipeline at them."""
    with Sandbox(generate_company()) as sandbox:
        for name, value in sandbox.env().items():
            print(f"export {name}={value}")
        print("# fakes running; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def main(argv: Sequence[str]) -> int:
    commands = {"demo": demo, "ui": ui, "serve": serve}
    name = argv[0] if argv else "demo"
    if name not in commands:
        print(f"usage: python -m sandbox [{'|'.join(commands)}]", file=sys.stderr)
        return 2
    return commands[name]()
