"""Looking ahead (docs/metrics.md, "Looking ahead"): renewals, churn risk and each CSM's
outlook at `as_of`, computed by hand.

The outlook SQL (transforms/outlook/) and its Python step (warehouse/outlook.py) run on
hand-made inputs in DuckDB; the churn model is fitted on generated units with a known
effect, and the test refits it with statsmodels itself and recomputes each account's logistic
by hand. as_of is 2025-06-15 12:00 UTC: the three months before it start 2025-03-15 12:00.

Accounts (owner now; schedules; renewal events after as_of):
    sf:A1  alice  12,000 to 2025-07-01 and 6,000 to 2026-01-01: lapses 12,000 in 16 days,
                  6,000 in 200
    sf:A2  alice  30,000 to 2025-09-01, renewed for 30,000 to 2026-09-01: no drop on
                  2025-09-01; the next event, in 443 days, is beyond the 365 of marts.renewals
    sf:A3  bob (alice until 2025-05-01)  10,000 to 2025-08-01, renewed at 4,000: lapses 6,000
                  in 47 days (and 4,000 in 412)
    hs:4   nobody (unassigned)  5,000 to 2025-12-01: 169 days
    sf:A5  bob    ended on 2025-06-15, the day of as_of: not a customer
    sf:A6  bob    starts 2025-07-01: not a customer yet
    sf:A7  bob    2,000 to 2025-09-13: exactly 90 days
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pipelines.settings import Settings
from tests.conftest import TinyBuild
from transforms import ROOT, macro_paths
from warehouse.drivers import RetentionFit
from warehouse.outlook import build_outlook
from warehouse.schema import ensure_schemas, write_settings

AS_OF = datetime(2025, 6, 15, 12, tzinfo=UTC)
ALICE, BOB = "alice@example.com", "bob@example.com"
INPUTS = ["hours_per_month", "touchpoints", "days_since_last_touch"]

TABLES = {
    "intermediate.int_revenue__schedules": (
        "deal_id varchar, account_id varchar, service_start date, service_end date, "
        "annual_value decimal(18, 2)", [
            ("d1", "sf:A1", "2024-07-01", "2025-07-01", 12000),
            ("d2", "sf:A1", "2025-01-01", "2026-01-01", 6000),
            ("d3", "sf:A2", "2024-06-01", "2025-09-01", 30000),
            ("d4", "sf:A2", "2025-09-01", "2026-09-01", 30000),
            ("d5", "sf:A3", "2025-03-01", "2025-08-01", 10000),
            ("d6", "sf:A3", "2025-08-01", "2026-08-01", 4000),
            ("d7", "hs:4", "2024-12-01", "2025-12-01", 5000),
            ("d8", "sf:A5", "2024-06-15", "2025-06-15", 7000),
            ("d9", "sf:A6", "2025-07-01", "2025-09-10", 3000),
            ("d10", "sf:A7", "2024-09-13", "2025-09-13", 2000)]),
    "intermediate.int_accounts__unified": (
        "account_id varchar, source varchar, account_name varchar",
        [(a, "hubspot" if a.startswith("hs:") else "salesforce", f"Account {a[3:]}")
         for a in ("sf:A1", "sf:A2", "sf:A3", "hs:4", "sf:A5", "sf:A6", "sf:A7")]),
    "intermediate.int_ownership__intervals": (
        "account_id varchar, csm_id varchar, ownership_source varchar, "
        "valid_from timestamptz, valid_to timestamptz", [
            ("sf:A1", ALICE, "history", "-infinity", "infinity"),
            ("sf:A2", ALICE, "history", "-infinity", "infinity"),
            ("sf:A3", ALICE, "history", "-infinity", "2025-05-01 00:00:00+00"),
            ("sf:A3", BOB, "history", "2025-05-01 00:00:00+00", "infinity"),
            ("sf:A5", BOB, "history", "-infinity", "infinity"),
            ("sf:A6", BOB, "history", "-infinity", "infinity"),
            ("sf:A7", BOB, "history", "-infinity", "infinity")]),
    "intermediate.int_people__csms": (
        "csm_id varchar, fte double, start_date date, end_date date", [
            (ALICE, 1.0, None, None), (BOB, 0.5, "2025-04-01", None)]),
    "intermediate.int_time_entries__counted": (
        "entry_id varchar, csm_id varchar, account_id varchar, activity varchar, "
        "is_leave boolean, in_population boolean, start_at timestamptz, stop_at timestamptz", [
            # 2 of its 4 hours after the window starts (12:00)
            ("e1", ALICE, "sf:A1", "support", False, True, "2025-03-15 10:00:00+00",
             "2025-03-15 14:00:00+00"),
            ("e2", ALICE, "sf:A1", "support", False, True, "2025-04-01 09:00:00+00",
             "2025-04-01 21:00:00+00"),
            ("e3", ALICE, "sf:A1", "support", False, True, "2025-04-02 09:00:00+00",
             "2025-04-02 21:00:00+00"),
            ("e3b", ALICE, "sf:A1", "support", False, True, "2025-04-03 09:00:00+00",
             "2025-04-03 21:00:00+00"),
            ("e4", BOB, "sf:A3", "onboarding", False, True, "2025-06-01 09:00:00+00",
             "2025-06-01 12:00:00+00"),  # after A3's onboarding window (2025-05-30)
            ("e5", ALICE, None, "leave", True, True, "2025-05-05 09:00:00+00",
             "2025-05-05 17:00:00+00"),
            ("e6", ALICE, None, "admin", False, True, "2025-05-06 09:00:00+00",
             "2025-05-06 11:00:00+00"),
            ("e7", "zed@example.com", "sf:A2", "support", False, False,
             "2025-05-06 09:00:00+00", "2025-05-06 19:00:00+00"),  # outside the population
            ("e8", BOB, "sf:A7", "support", False, True, "2025-06-15 11:00:00+00",
             "2025-06-15 13:00:00+00"),  # 1 h before as_of
            ("e9", BOB, "sf:A3", "onboarding", False, True, "2025-03-05 09:00:00+00",
             "2025-03-05 13:00:00+00")]),  # before the window; A3's onboarding: 4 h
    "intermediate.int_touchpoints": (
        "activity_id varchar, source varchar, kind varchar, account_id varchar, "
        "csm_id varchar, occurred_at timestamptz", [
            ("t1", "salesforce", "call", "sf:A1", ALICE, "2025-06-10 12:00:00+00"),
            ("t2", "salesforce", "call", "sf:A1", ALICE, "2025-04-01 12:00:00+00"),
            ("t3", "salesforce", "call", "sf:A1", ALICE, "2025-02-01 12:00:00+00"),
            ("t4", "salesforce", "email", "sf:A2", ALICE, "2025-06-14 12:00:00+00"),
            ("t5", "salesforce", "call", "sf:A3", ALICE, "2025-05-01 12:00:00+00"),
            ("t7", "salesforce", "call", "sf:A7", BOB, "2025-05-20 12:00:00+00"),
            ("t8", "salesforce", "call", "sf:A1", ALICE, "2025-06-16 12:00:00+00")]),
    "intermediate.int_feedback__salesforce": (
        "response_id varchar, survey_type varchar, score double, responded_at timestamptz, "
        "account_id varchar, is_deleted boolean", [
            ("r1", "NPS", 9, "2025-01-10 12:00:00+00", "sf:A1", False),
            ("r2", "NPS", 5, "2024-07-01 12:00:00+00", "sf:A1", False),
            ("r3", "NPS", 0, "2024-06-01 12:00:00+00", "sf:A1", False),  # over a year before
            ("r4", "NPS", 0, "2025-05-01 12:00:00+00", "sf:A1", True)]),  # deleted
    "intermediate.int_feedback__hubspot": (
        "response_id varchar, survey_type varchar, score double, responded_at timestamptz, "
        "account_id varchar, is_deleted boolean", [
            ("h1", "NPS", 10, "2025-06-16 12:00:00+00", "sf:A3", False)]),  # after as_of
}


def pulled_windows(march: bool = True) -> list[tuple]:
    """The time-entry windows landed: March (unless not) to June 2025, a month each."""
    return [("toggl", "time_entries", datetime(2025, m, 1, tzinfo=UTC),
             datetime(2025, m + 1, 1, tzinfo=UTC), AS_OF, "pull")
            for m in range(3 if march else 4, 7)]


def units(n: int = 4000, seed: int = 24) -> pd.DataFrame:
    """Churn logistic in hours (+0.8 per sd), touchpoints (-0.4) and a missing last touch
    (+1.0); days since the last touch is noise, missing for a quarter of the units."""
    rng = np.random.default_rng(seed)
    hours = rng.normal(6.0, 2.5, n)
    touches = rng.poisson(3.0, n).astype(float)
    days = rng.exponential(20.0, n)
    missing = rng.random(n) < 0.25
    days[missing] = np.nan
    logit = -1.5 + 0.8 * (hours - 6) / 2.5 - 0.4 * (touches - 3) / np.sqrt(3) + 1.0 * missing
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"quarter_start": [date(2024, 1 + 3 * (i % 4), 1) for i in range(n)],
                         "account_id": [f"u{i}" for i in range(n)], "churned": churned,
                         "hours_per_month": hours, "touchpoints": touches,
                         "days_since_last_touch": days})


def build(fitted: RetentionFit, database: str = ":memory:", march: bool = True,
          settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    settings = settings or Settings()
    conn = duckdb.connect(database)
    ensure_schemas(conn)
    write_settings(conn, settings.for_warehouse(), settings.tables())
    for path in macro_paths():
        conn.execute(path.read_text())
    for table, (columns, rows) in TABLES.items():
        conn.execute(f"create or replace table {table} ({columns})")
        if rows:
            conn.executemany(f"insert into {table} values ({', '.join('?' for _ in rows[0])})",
                             rows)
    # The outlook reads entries through their resolution keys: here each entry is its own key.
    conn.execute("""create table intermediate.int_time_entries__keyed as
        select entry_id, start_at, stop_at, {'entry_id': entry_id} as entry_key,
               hash(entry_key) as key_hash
        from intermediate.int_time_entries__counted""")
    conn.execute("""create table intermediate.int_time_entries__resolved as
        select key_hash, entry_key, csm_id, account_id, activity, is_leave, in_population
        from intermediate.int_time_entries__keyed
        inner join intermediate.int_time_entries__counted using (entry_id)""")
    conn.execute("create view intermediate.int_feedback__nps_scores as\n" + (
        ROOT / "intermediate" / "int_feedback__nps_scores.sql").read_text())
    conn.executemany("insert into raw._windows values (?, ?, ?, ?, ?, ?)", pulled_windows(march))
    for layer, model in (("staging", "stg_pipeline__time_entry_windows"),
                         ("intermediate", "int_time_entries__months_pulled")):
        conn.execute(f"create view {layer}.{model} as\n"
                     + (ROOT / layer / f"{model}.sql").read_text())
    build_outlook(conn, fitted, "run-1", AS_OF)
    return conn


def rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def by_hand(frame: pd.DataFrame, accounts: dict[str, dict[str, float | None]]
            ) -> dict[str, float]:
    """statsmodels' own fit on the design built here (standardized inputs, the missing last
    touch at the mean with its indicator), then each account's logistic by hand."""
    stats = {name: (frame[name].mean(), frame[name].std(ddof=1)) for name in INPUTS}

    def row(values: dict[str, float | None]) -> list[float]:
        out = [1.0]
        for name in INPUTS:
            mean, sd = stats[name]
            value = values[name]
            out.append(0.0 if value is None or np.isnan(value) else (value - mean) / sd)
        out.append(1.0 if values["days_since_last_touch"] is None else 0.0)
        return out

    design = np.array([row({n: (None if np.isnan(v) else v) for n, v in zip(
        INPUTS, values, strict=True)}) for values in frame[INPUTS].to_numpy()])
    params = sm.Logit(frame["churned"].astype(float).to_numpy(), design).fit(disp=0).params
    return {account: float(1 / (1 + np.exp(-np.dot(params, row(values)))))
            for account, values in accounts.items()}


def weekdays(first: str, end: str) -> int:
    return int(np.busday_count(first, end))


# The inputs over 2025-03-15 12:00 .. 2025-06-15 12:00, by hand.
INPUT_ROWS = {
    "sf:A1": {"hours_per_month": (2 + 12 + 12 + 12) / 3, "touchpoints": 2.0,
              "days_since_last_touch": 5.0},
    "sf:A2": {"hours_per_month": 0.0, "touchpoints": 1.0, "days_since_last_touch": 1.0},
    "sf:A3": {"hours_per_month": 3 / 3, "touchpoints": 1.0, "days_since_last_touch": 45.0},
    "hs:4": {"hours_per_month": 0.0, "touchpoints": 0.0, "days_since_last_touch": None},
    "sf:A7": {"hours_per_month": 1 / 3, "touchpoints": 1.0, "days_since_last_touch": 26.0},
}


def band(probability: float, rate: float, ratio: float = 2.0) -> str:
    return "high" if probability >= ratio * rate else "low" if probability <= rate / 2 \
        else "medium"


# --- the tiny company, through the fakes and Dagster ----------------------------------------

def test_the_tiny_company_has_the_outlook_consistent_and_published(tiny_built: TinyBuild,
                                                                    tmp_path: Path) -> None:
    from tests.conftest import read_rows
    from warehouse.bi_files import write_bi_files
    from warehouse.publishing import current_version

    warehouse = tiny_built.warehouse
    risk = read_rows(warehouse, "select * from marts.account_risk")
    renewals = read_rows(warehouse, "select * from marts.renewals")
    outlook = {r["csm_id"]: r for r in read_rows(warehouse, "select * from marts.csm_outlook")}
    assert risk and "team" in outlook and "unassigned" in outlook
    team = outlook.pop("team")
    assert team["accounts_managed"] == len(risk) == sum(
        r["accounts_managed"] for r in outlook.values())
    assert team["arr_managed"] == sum(r["arr_now"] for r in risk)
    assert team["arr_renewing_180d"] == sum(r["arr_lapsing"] for r in renewals
                                            if r["days_to_renewal"] <= 180)
    assert {r["account_id"] for r in renewals} <= {r["account_id"] for r in risk}
    assert all(0 < r["days_to_renewal"] <= 365 for r in renewals)
    # Every account's next renewal is its first renewal event.
    first = {}
    for r in sorted(renewals, key=lambda r: r["renewal_date"]):
        first.setdefault(r["account_id"], r["renewal_date"])
    assert all(r["next_renewal_date"] == first[r["account_id"]] for r in risk
               if r["account_id"] in first)
    # One quarter built, none complete with one before it: no model, every band unknown.
    assert all(r["risk_band"] == "unknown" and r["risk_note"] for r in risk)
    # Published: the BI copy has the same rows; LookML and .tds are written for each.
    copy = current_version(tiny_built.folder / "published" / "csm_metrics.duckdb")
    for table in ("account_risk", "renewals", "csm_outlook"):
        assert read_rows(copy, f"select count(*) as n from marts.{table}")[0]["n"] == len(
            read_rows(warehouse, f"select * from marts.{table}"))
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        written = {p.name for p in write_bi_files(conn, tmp_path, tmp_path / "bi.duckdb")}
    for table in ("account_risk", "renewals", "csm_outlook"):
        assert {f"{table}.view.lkml", f"{table}.tds"} <= written
    ratio = read_rows(warehouse, """
        select period_grain, fully_loaded_cost, total_arr, cost_to_serve_ratio
        from marts.team_period_metrics""")
    factor = {"month": 12, "quarter": 4, "year": 1, "ttm": 1}
    for r in ratio:
        assert r["cost_to_serve_ratio"] == pytest.approx(
            float(r["fully_loaded_cost"]) * factor[r["period_grain"]] / float(r["total_arr"]))
