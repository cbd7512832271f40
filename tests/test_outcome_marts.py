"""Feedback, bookings, CSM sourcing, churn reasons and onboarding, computed by hand.

The outcome models run on hand-made inputs in an in-memory DuckDB: the tables they read
(ownership intervals, schedules, deals, survey responses, time entries) are written row by row
below, the models themselves are the project's SQL files. Months are January to March 2025,
reporting time zone UTC unless a test says otherwise.

People: alice (Salesforce user U1, HubSpot owner O1 whose user id is u-100), bob (U2).
Accounts (sf: unless hs:):
    A1   alice   customer since 2024-06-01 (12,000); two upsells in January
    A2   bob     new on 2025-01-20 (D3); onboarding hours; value milestone 2025-03-01
    A4   alice until 2025-02-15, then bob: feedback on both sides of the change
    N1   alice   new on 2025-01-05, no milestone, no hours
    N2   alice   new on 2025-01-10, milestone 2025-01-30, 6 h onboarding
    C1-C3        churn in January (60,000, 30,000, 20,000)
    K1, K2       contract in February (5,000, 8,000)
    hs:10 alice  customer since 2024-03-01; a HubSpot upsell and a loss in February
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import build_asset_check_context
from dagster_duckdb import DuckDBResource

from pipelines.metrics.checks import (
    churn_reason_ranks_are_a_permutation,
    churn_reason_shares_sum_to_one,
)
from pipelines.settings import Settings
from transforms import ROOT, macro_paths
from warehouse.schema import ensure_schemas, write_settings

pytestmark = pytest.mark.fast

ALICE, BOB = "alice@example.com", "bob@example.com"
JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
FOREVER = ("-infinity", "infinity")

# The models under test, in the order they read each other; everything they read besides is a
# hand-made table below.
VIEWS = ("int_feedback__responses", "int_deals__closed", "int_deals__bookings",
         "int_quarantine__records")
WORKING = ("wrk_periods", "wrk_entry_keys", "wrk_onboardings", "wrk_account_periods",
           "wrk_outcomes_items", "wrk_outcomes")
MARTS = ("churn_reasons",)

TABLES: dict[str, str] = {
    "intermediate.int_people__identities": "system varchar, ref varchar, csm_id varchar, "
                                           "name varchar",
    "intermediate.int_ownership__intervals": "account_id varchar, csm_id varchar, "
                                             "ownership_source varchar, valid_from timestamptz, "
                                             "valid_to timestamptz",
    "intermediate.int_accounts__unified": "account_id varchar, source varchar, "
                                          "account_name varchar, owner_ref varchar, "
                                          "is_deleted boolean, created_at timestamptz, "
                                          "name_key varchar, value_milestone_date date",
    "intermediate.int_revenue__schedules": "deal_id varchar, account_id varchar, "
                                           "service_start date, service_end date, "
                                           "annual_value decimal(18, 2)",
    "intermediate.int_revenue__won_deals": "deal_id varchar, source varchar, close_date date, "
                                           "reject_reason varchar",
    "intermediate.int_time_entries__unified": "entry_id varchar, source varchar, "
                                              "reject_reason varchar",
    "staging.stg_toggl__time_entries": "entry_id varchar, source varchar, "
                                       "start_at timestamptz, stop_at timestamptz",
    "staging.stg_clockify__time_entries": "entry_id varchar, source varchar, "
                                          "start_at timestamptz, stop_at timestamptz",
    "intermediate.int_time_entries__counted": "entry_id varchar, csm_id varchar, "
                                              "account_id varchar, activity varchar, "
                                              "is_leave boolean, in_population boolean, "
                                              "start_at timestamptz, stop_at timestamptz",
    "intermediate.int_feedback__salesforce": "response_id varchar, source varchar, "
                                             "survey_type varchar, score_raw varchar, "
                                             "score double, responded_at timestamptz, "
                                             "account_id varchar, is_deleted boolean",
    "intermediate.int_feedback__hubspot": "response_id varchar, source varchar, "
                                          "survey_type varchar, score_raw varchar, "
                                          "score double, responded_at timestamptz, "
                                          "account_id varchar, is_deleted boolean",
    "staging.stg_salesforce__opportunities": "deal_id varchar, source varchar, "
                                             "account_id varchar, close_date date, "
                                             "is_won boolean, is_closed boolean, "
                                             "is_deleted boolean, source_value varchar, "
                                             "created_by_ref varchar, created_at timestamptz, "
                                             "loss_reason varchar",
    "staging.stg_hubspot__deals": "deal_id varchar, source varchar, account_id varchar, "
                                  "close_date date, pipeline_id varchar, stage_id varchar, "
                                  "is_deleted boolean, is_closed boolean, source_value varchar, "
                                  "created_by_ref varchar, created_at timestamptz, "
                                  "loss_reason varchar",
    "staging.stg_hubspot__deal_stages": "pipeline_id varchar, stage_id varchar, "
                                        "is_closed_won boolean, is_closed boolean",
    "staging.stg_hubspot__owners": "owner_id varchar, user_id varchar, email varchar",
}


def schedule(deal: str, account: str, start: str, end: str, value: int) -> tuple:
    return (deal, account, start, end, value)


def opportunity(deal: str, account: str, close: str, *, won: bool = True, closed: bool = True,
                source: str | None = None, creator: str | None = None,
                created: str | None = None, reason: str | None = None) -> tuple:
    return (deal, "salesforce", account, close, won, closed, False, source, creator, created,
            reason)


def response(rid: str, kind: str, score: str | None, at: str, account: str | None,
             deleted: bool = False) -> tuple:
    source = "hubspot" if rid.startswith("hs:") else "salesforce"
    try:
        number = float(score) if score is not None else None
    except ValueError:
        number = None
    return (rid, source, kind, score, number, at, account, deleted)


def entry(eid: str, account: str, start: str, stop: str, activity: str = "onboarding",
          in_population: bool = True) -> tuple:
    return (eid, BOB, account, activity, False, in_population, start, stop)


SCHEDULES = [
    schedule("sf:D1", "sf:A1", "2024-06-01", "2025-06-01", 12000),
    schedule("sf:D2", "sf:A1", "2025-01-15", "2026-01-15", 6000),
    schedule("sf:D5", "sf:A1", "2025-01-28", "2026-01-28", 3000),
    schedule("sf:D3", "sf:A2", "2025-01-20", "2026-01-20", 24000),
    schedule("sf:D9", "sf:N1", "2025-01-05", "2026-01-05", 1000),
    schedule("sf:D10", "sf:N2", "2025-01-10", "2026-01-10", 2000),
    schedule("sf:DC1", "sf:C1", "2024-02-01", "2025-02-01", 60000),
    schedule("sf:DC2", "sf:C2", "2024-02-01", "2025-02-01", 30000),
    schedule("sf:DC3", "sf:C3", "2024-02-01", "2025-02-01", 20000),
    schedule("sf:DK1a", "sf:K1", "2024-06-01", "2025-06-01", 10000),
    schedule("sf:DK1b", "sf:K1", "2024-06-01", "2025-02-15", 5000),
    schedule("sf:DK2a", "sf:K2", "2024-06-01", "2025-06-01", 20000),
    schedule("sf:DK2b", "sf:K2", "2024-06-01", "2025-02-10", 8000),
    schedule("hs:D0", "hs:10", "2024-03-01", "2025-06-01", 5000),
    schedule("hs:D7", "hs:10", "2025-02-05", "2026-02-05", 1200),
]
CLOSE_DATES = {"sf:D1": "2024-06-01", "sf:DK1a": "2024-06-01", "sf:DK1b": "2024-06-01",
               "sf:DK2a": "2024-06-01", "sf:DK2b": "2024-06-01", "sf:DC1": "2024-02-01",
               "sf:DC2": "2024-02-01", "sf:DC3": "2024-02-01", "hs:D0": "2024-03-01"}

OPPORTUNITIES = [
    opportunity("sf:D1", "sf:A1", "2024-06-01"),
    # CSM-sourced expansion: the source value differs in case and spaces; alice created it.
    opportunity("sf:D2", "sf:A1", "2025-01-15", source=" customer success ", creator="U1",
                created="2025-01-05 09:00:00+00"),
    # Bob's new customer, CSM-sourced: a new booking, not an expansion, but a sourced win.
    opportunity("sf:D3", "sf:A2", "2025-01-20", source="CSM", creator="U1",
                created="2025-01-02 09:00:00+00"),
    # A CSM-sourced loss on alice's account (its reason is the most common spelling of Price).
    opportunity("sf:D4", "sf:A1", "2025-01-25", won=False, source="csm", creator="U1",
                created="2025-01-03 09:00:00+00", reason="Price"),
    # An expansion from marketing: in expansion bookings, not CSM-sourced. Bob created it.
    opportunity("sf:D5", "sf:A1", "2025-01-28", source="Web", creator="U2",
                created="2025-01-04 09:00:00+00"),
    # Still open: neither won nor lost.
    opportunity("sf:D6", "sf:A1", "2025-01-29", won=False, closed=False, source="CSM"),
    opportunity("sf:D9", "sf:N1", "2025-01-05"),
    opportunity("sf:D10", "sf:N2", "2025-01-10"),
    *(opportunity(d, a, "2024-06-01") for d, a in [
        ("sf:DK1a", "sf:K1"), ("sf:DK1b", "sf:K1"), ("sf:DK2a", "sf:K2"), ("sf:DK2b", "sf:K2")]),
    *(opportunity(d, a, "2024-02-01") for d, a in [
        ("sf:DC1", "sf:C1"), ("sf:DC2", "sf:C2"), ("sf:DC3", "sf:C3")]),
    # Lost renewals and their reasons.
    opportunity("sf:LC1old", "sf:C1", "2024-06-01", won=False, reason="Product"),
    opportunity("sf:LC1", "sf:C1", "2024-10-01", won=False, reason=" Price "),  # 92 days before
    opportunity("sf:LC2", "sf:C2", "2024-08-15", won=False, reason="price"),  # 139 days: outside
    opportunity("sf:LC3", "sf:C3", "2025-01-10", won=False, reason="PRICE"),
    opportunity("sf:LK1a", "sf:K1", "2025-01-05", won=False, reason="Budget"),
    opportunity("sf:LK1b", "sf:K1", "2025-02-10", won=False, reason="  "),  # latest: no reason
    opportunity("sf:LK2", "sf:K2", "2025-02-20", won=False, reason="budget"),
]

HUBSPOT_DEALS = [
    ("hs:D0", "hubspot", "hs:10", "2024-03-01", "p", "won", False, None, None, None, None, None),
    # A HubSpot upsell created by user u-100 (owner O1, alice), who owned the company.
    ("hs:D7", "hubspot", "hs:10", "2025-02-05", "p", "won", False, None, "Customer Success",
     "u-100", "2025-01-20 00:00:00+00", None),
    ("hs:D8", "hubspot", "hs:10", "2025-02-10", "p", "lost", False, None, "CSM", "u-100",
     "2025-01-21 00:00:00+00", "Timing"),
    ("hs:D11", "hubspot", "hs:10", "2025-02-11", "p", "open", False, None, "CSM", "u-100",
     "2025-01-21 00:00:00+00", None),
]

RESPONSES = [
    # January on A1 (alice): promoters 10, 9; passives 8, 7; detractors 6, 0.
    *(response(f"sf:R{i}", "NPS", s, f"2025-01-{10 + i:02d} 12:00:00+00", "sf:A1")
      for i, s in enumerate(["10", "9", "8", "7", "6", "0"])),
    response("sf:Rbad", "NPS", "11", "2025-01-20 12:00:00+00", "sf:A1"),
    response("sf:Rtext", "NPS", "ten", "2025-01-20 12:00:00+00", "sf:A1"),
    response("sf:Rdeleted", "NPS", "10", "2025-01-20 12:00:00+00", "sf:A1", deleted=True),
    # CSAT on A2 (bob): 5 and 4 satisfied (4 is the threshold), 3 not; 0 is off the scale.
    response("hs:C1", "CSAT", "5", "2025-01-21 12:00:00+00", "sf:A2"),
    response("hs:C2", "CSAT", "4", "2025-01-22 12:00:00+00", "sf:A2"),
    response("hs:C3", "CSAT", "3", "2025-01-23 12:00:00+00", "sf:A2"),
    response("hs:C0", "CSAT", "0", "2025-01-23 12:00:00+00", "sf:A2"),
    # A CES is no NPS or CSAT: ignored, not quarantined.
    response("hs:E1", "CES", "3", "2025-01-23 12:00:00+00", "sf:A2"),
    # On no account: unassigned, in the team's NPS only.
    response("hs:N1", "NPS", "0", "2025-01-24 12:00:00+00", None),
    # February: a promoter on hs:10; A4 changes hands on Feb 15.
    response("hs:F1", "NPS", "9", "2025-02-03 12:00:00+00", "hs:10"),
    response("sf:F2", "NPS", "10", "2025-02-10 12:00:00+00", "sf:A4"),
    response("sf:F3", "NPS", "0", "2025-02-20 12:00:00+00", "sf:A4"),
]

# Bob's onboarding of A2 (start 2025-01-20, window of 90 days: until 2025-04-20 00:00).
ENTRIES = [
    entry("toggl:1", "sf:A2", "2025-01-22 09:00:00+00", "2025-01-22 11:00:00+00"),  # day 2: 2 h
    entry("toggl:2", "sf:A2", "2025-04-19 10:00:00+00", "2025-04-19 11:00:00+00"),  # day 89: 1 h
    entry("toggl:3", "sf:A2", "2025-04-19 23:00:00+00", "2025-04-20 01:00:00+00"),  # 1 h inside
    entry("toggl:4", "sf:A2", "2025-04-21 09:00:00+00", "2025-04-21 12:00:00+00"),  # day 91
    entry("toggl:5", "sf:A2", "2025-01-23 09:00:00+00", "2025-01-23 10:00:00+00", "support"),
    entry("toggl:6", "sf:A2", "2025-01-23 09:00:00+00", "2025-01-23 10:00:00+00",
          in_population=False),
    entry("toggl:7", "sf:N2", "2025-01-12 09:00:00+00", "2025-01-12 15:00:00+00"),  # 6 h
]

OWNERS = {"sf:A1": ALICE, "sf:A2": BOB, "sf:N1": ALICE, "sf:N2": ALICE, "hs:10": ALICE,
          "sf:C1": BOB, "sf:C2": BOB, "sf:C3": ALICE, "sf:K1": BOB, "sf:K2": BOB}
MILESTONES = {"sf:A2": "2025-03-01", "sf:N2": "2025-01-30"}


def ownership() -> list[tuple]:
    rows = [(a, csm, "history", *FOREVER) for a, csm in OWNERS.items()]
    rows += [("sf:A4", ALICE, "history", "-infinity", "2025-02-15 00:00:00+00"),
             ("sf:A4", BOB, "history", "2025-02-15 00:00:00+00", "infinity")]
    return rows


def insert(conn: duckdb.DuckDBPyConnection, table: str, rows: Iterable[tuple]) -> None:
    rows = list(rows)
    conn.execute(f"create or replace table {table} ({TABLES[table]})")
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        conn.executemany(f"insert into {table} values ({marks})", rows)


def build(settings: Settings | None = None, *, responses: list[tuple] = RESPONSES,
          start: date = JAN, end: date = date(2025, 4, 1), database: str = ":memory:"
          ) -> duckdb.DuckDBPyConnection:
    """The hand-made inputs, then the models under test, as the marts build runs them."""
    settings = settings or Settings()
    conn = duckdb.connect(database)
    ensure_schemas(conn)
    write_settings(conn, settings.for_warehouse(), settings.tables())
    for path in macro_paths():
        conn.execute(path.read_text())
    insert(conn, "intermediate.int_people__identities", [
        ("salesforce", "U1", ALICE, "Alice"), ("salesforce", "U2", BOB, "Bob"),
        ("hubspot", "O1", ALICE, "Alice")])
    insert(conn, "intermediate.int_ownership__intervals", ownership())
    accounts = {s[1] for s in SCHEDULES} | {"sf:A4"}
    insert(conn, "intermediate.int_accounts__unified", [
        (a, "hubspot" if a.startswith("hs:") else "salesforce", a, None, False, None, a,
         MILESTONES.get(a)) for a in sorted(accounts)])
    insert(conn, "intermediate.int_revenue__schedules", SCHEDULES)
    insert(conn, "intermediate.int_revenue__won_deals", [
        (s[0], "salesforce", CLOSE_DATES.get(s[0], s[2]), None) for s in SCHEDULES]
        + [("sf:Dnoamount", "salesforce", "2025-01-15", "no amount")])
    insert(conn, "intermediate.int_time_entries__unified", [])
    insert(conn, "staging.stg_toggl__time_entries", [])  # the quarantine reads their instants
    insert(conn, "staging.stg_clockify__time_entries", [])
    insert(conn, "intermediate.int_time_entries__counted", ENTRIES)
    # The build reads entries through their resolution keys: here each entry is its own key.
    conn.execute("""create table intermediate.int_time_entries__keyed as
        select entry_id, start_at, stop_at, {'entry_id': entry_id} as entry_key,
               hash(entry_key) as key_hash
        from intermediate.int_time_entries__counted""")
    conn.execute("""create table intermediate.int_time_entries__resolved as
        select row_number() over (order by entry_id) as key_id, key_hash, entry_key, csm_id,
               account_id, activity, is_leave, in_population
        from intermediate.int_time_entries__keyed
        inner join intermediate.int_time_entries__counted using (entry_id)""")
    insert(conn, "intermediate.int_feedback__salesforce",
           [r for r in responses if r[1] == "salesforce"])
    insert(conn, "intermediate.int_feedback__hubspot",
           [r for r in responses if r[1] == "hubspot"])
    insert(conn, "staging.stg_salesforce__opportunities", OPPORTUNITIES)
    insert(conn, "staging.stg_hubspot__deals", HUBSPOT_DEALS)
    insert(conn, "staging.stg_hubspot__deal_stages", [
        ("p", "won", True, True), ("p", "lost", False, True), ("p", "open", False, False)])
    insert(conn, "staging.stg_hubspot__owners", [("O1", "u-100", ALICE)])
    params = {"range_start": start, "range_end": end, "as_of": datetime.now(UTC)}
    conn.execute("create view staging.stg_pipeline__time_entry_windows as\n"
                 + model("staging", "stg_pipeline__time_entry_windows"))
    conn.execute("create view intermediate.int_time_entries__months_pulled as\n"
                 + model("intermediate", "int_time_entries__months_pulled"))
    for name in VIEWS:
        conn.execute(f"create view intermediate.{name} as\n{model('intermediate', name)}")
    for name in WORKING:
        sql = model("working", name)
        conn.execute(f"create temp table {name} as\n{sql}",
                     {k: v for k, v in params.items() if f"${k}" in sql})
    for name in MARTS:
        conn.execute(f"create table marts.{name} as\n{model('marts', name)}")
    return conn


def model(layer: str, name: str) -> str:
    return (ROOT / layer / f"{name}.sql").read_text()


def rows(conn: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None
         ) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params or {})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(conn: duckdb.DuckDBPyConnection, table: str, start: date, grain: str = "month",
        **keys: str) -> dict[str, Any]:
    where = "".join(f" and {k} = ${k}" for k in keys)
    found = rows(conn, f"select * from {table} where period_grain = $g and period_start = $s"
                 f"{where}", {"g": grain, "s": start, **keys})
    assert len(found) == 1, (table, start, grain, keys, found)
    return found[0]


def outcome(conn: duckdb.DuckDBPyConnection, scope: str, start: date, grain: str = "month",
            key: str | None = None) -> dict[str, Any]:
    """The one row of wrk_outcomes for a scope (`csm`, `team`, `account`) and its key."""
    found = rows(conn, "select * from wrk_outcomes where period_grain = $g and period_start = $s"
                 " and scope = $scope and scope_key is not distinct from $key",
                 {"g": grain, "s": start, "scope": scope, "key": key})
    assert len(found) == 1, (scope, start, grain, key, found)
    return found[0]


@pytest.fixture(scope="module")
def built() -> Iterator[duckdb.DuckDBPyConnection]:
    conn = build()
    yield conn
    conn.close()


# --- Feedback ---------------------------------------------------------------------------------

def test_nps_counts_promoters_passives_and_detractors(built: duckdb.DuckDBPyConnection) -> None:
    alice = outcome(built, "csm", JAN, key=ALICE)
    # 10, 9, 8, 7, 6, 0: 100 * (2 - 2) / 6. The 11, the "ten" and the deleted 10 do not count.
    assert (alice["nps_responses"], alice["nps"]) == (6, 0.0)
    assert (alice["csat_responses"], alice["csat"]) == (0, None)
    account = outcome(built, "account", JAN, key="sf:A1")
    assert (account["nps_responses"], account["nps"]) == (6, 0.0)


def test_csat_is_the_share_at_or_above_the_threshold(built: duckdb.DuckDBPyConnection) -> None:
    bob = outcome(built, "csm", JAN, key=BOB)
    # 5 and 4 (the threshold) of 5, 4, 3; the 0 is quarantined, the CES ignored.
    assert bob["csat_responses"] == 3
    assert bob["csat"] == pytest.approx(2 / 3)
    assert (bob["nps_responses"], bob["nps"]) == (0, None)
    stricter = build(Settings(csat_satisfied_min=4.5))
    assert outcome(stricter, "csm", JAN, key=BOB)["csat"] == pytest.approx(1 / 3)


def test_team_feedback_includes_responses_on_no_account(
        built: duckdb.DuckDBPyConnection) -> None:
    team = outcome(built, "team", JAN)
    # alice's six and the unassigned 0: promoters 2, detractors 3.
    assert team["nps_responses"] == 7
    assert team["nps"] == pytest.approx(100 * (2 - 3) / 7)
    assert outcome(built, "csm", JAN, key="unassigned")["nps"] == -100.0
    assert rows(built, "select * from wrk_outcomes where scope = 'account' "
                "and scope_key is null") == []


def test_a_response_belongs_to_the_owner_at_its_instant(
        built: duckdb.DuckDBPyConnection) -> None:
    # A4 moved from alice to bob on Feb 15: the Feb 10 promoter is alice's, the Feb 20
    # detractor bob's; hs:10's promoter is alice's too.
    alice = outcome(built, "csm", FEB, key=ALICE)
    assert (alice["nps_responses"], alice["nps"]) == (2, 100.0)
    bob = outcome(built, "csm", FEB, key=BOB)
    assert (bob["nps_responses"], bob["nps"]) == (1, -100.0)
    a4 = outcome(built, "account", FEB, key="sf:A4")
    assert (a4["nps_responses"], a4["nps"]) == (2, 0.0)


def test_quarter_nps_is_over_its_own_responses(built: duckdb.DuckDBPyConnection) -> None:
    alice = outcome(built, "csm", JAN, "quarter", key=ALICE)
    # 10, 9, 8, 7, 6, 0 and 9, 10: promoters 4, detractors 2 of 8 (not the mean of 0 and 100).
    assert (alice["nps_responses"], alice["nps"]) == (8, 25.0)
    year = outcome(built, "team", JAN, "year")
    assert year["nps_responses"] == 10 and year["csat_responses"] == 3


def test_invalid_scores_are_quarantined_and_other_surveys_ignored(
        built: duckdb.DuckDBPyConnection) -> None:
    found = rows(built, "select source, stream, record_id, reason from "
                 "intermediate.int_quarantine__records where stream = 'feedback' order by all")
    assert [(r["source"], r["record_id"], r["reason"]) for r in found] == [
        ("hubspot", "hs:C0", "CSAT score outside 1-5"),
        ("salesforce", "sf:Rbad", "NPS score outside 0-10"),
        ("salesforce", "sf:Rtext", "score is not a number"),
    ]
    types = rows(built, "select distinct survey_type from intermediate.int_feedback__responses")
    assert {r["survey_type"] for r in types} == {"NPS", "CSAT"}


def test_no_response_means_null_scores(built: duckdb.DuckDBPyConnection) -> None:
    march = outcome(built, "team", MAR)
    assert (march["nps_responses"], march["nps"], march["csat_responses"], march["csat"]) == (
        0, None, 0, None)


# --- Bookings and sourcing ----------------------------------------------------------------------

def test_expansion_bookings_and_their_csm_sourced_part(built: duckdb.DuckDBPyConnection) -> None:
    alice = outcome(built, "csm", JAN, key=ALICE)
    # D2 (6,000, CSM-sourced) and D5 (3,000, from the web) on A1, a customer from D1; N1's and
    # N2's first deals are new business.
    assert alice["expansion_bookings_arr"] == Decimal("9000.00")
    assert alice["csm_sourced_bookings_arr"] == Decimal("6000.00")
    bob = outcome(built, "csm", JAN, key=BOB)
    # D3 is A2's first schedule: a new booking, not an expansion, though CSM-sourced.
    assert bob["expansion_bookings_arr"] == 0 and bob["csm_sourced_bookings_arr"] == 0
    team = outcome(built, "team", JAN)
    assert team["expansion_bookings_arr"] == Decimal("9000.00")
    assert team["csm_sourced_share"] == pytest.approx(6000 / 9000)


def test_csm_sourced_win_rate(built: duckdb.DuckDBPyConnection) -> None:
    alice = outcome(built, "csm", JAN, key=ALICE)
    # D2 won, D4 lost ("csm" in any case); D6 is still open; D5 is not CSM-sourced.
    assert (alice["csm_sourced_won"], alice["csm_sourced_lost"]) == (1, 1)
    assert alice["csm_sourced_win_rate"] == pytest.approx(0.5)
    bob = outcome(built, "csm", JAN, key=BOB)
    assert (bob["csm_sourced_won"], bob["csm_sourced_lost"], bob["csm_sourced_win_rate"]) == (
        1, 0, 1.0)
    team = outcome(built, "team", JAN)
    assert team["csm_sourced_win_rate"] == pytest.approx(2 / 3)
    # February: HubSpot's D7 won (an upsell, 1,200) and D8 lost, by their stages' metadata.
    feb = outcome(built, "csm", FEB, key=ALICE)
    assert (feb["csm_sourced_won"], feb["csm_sourced_lost"]) == (1, 1)
    assert feb["expansion_bookings_arr"] == feb["csm_sourced_bookings_arr"] == Decimal("1200.00")
    march = outcome(built, "team", MAR)
    assert march["csm_sourced_win_rate"] is None and march["csm_sourced_share"] is None


def test_creator_is_owner_rule() -> None:
    conn = build(Settings(csm_sourced_rule="creator_is_owner"))
    sourced = rows(conn, "select deal_id from intermediate.int_deals__closed "
                   "where is_csm_sourced order by deal_id")
    # D2, D4 created by alice (U1) on her A1; D3 created by alice on bob's A2 is not; D5 by bob
    # on alice's A1 is not; D7, D8 by HubSpot user u-100 (owner O1, alice) on her company.
    assert [r["deal_id"] for r in sourced] == ["hs:D7", "hs:D8", "sf:D2", "sf:D4"]
    alice = outcome(conn, "csm", JAN, key=ALICE)
    assert alice["csm_sourced_bookings_arr"] == Decimal("6000.00")
    assert outcome(conn, "csm", JAN, key=BOB)["csm_sourced_won"] == 0


# --- Churn reasons ------------------------------------------------------------------------------

def reasons(conn: duckdb.DuckDBPyConnection, start: date, grain: str = "month") -> list[tuple]:
    return [(r["movement"], r["reason"], r["accounts"], r["arr"], r["share_of_accounts"],
             r["share_of_arr"], r["rank_by_arr"])
            for r in rows(conn, "select * from marts.churn_reasons where period_grain = $g "
                          "and period_start = $s order by movement, rank_by_arr",
                          {"g": grain, "s": start})]


def test_churn_takes_the_latest_loss_reason_in_the_window(
        built: duckdb.DuckDBPyConnection) -> None:
    # C1: " Price " 92 days before Jan 1 (its older "Product" is outside and earlier); C3: "PRICE"
    # in January; C2: its "price" was 139 days before: unknown. Price is spelled as most lost
    # deals spell it (D4 and C1's "Price").
    assert reasons(built, JAN) == [
        ("churn", "Price", 2, Decimal("80000.00"), pytest.approx(2 / 3),
         pytest.approx(80 / 110), 1),
        ("churn", "unknown", 1, Decimal("30000.00"), pytest.approx(1 / 3),
         pytest.approx(30 / 110), 2),
    ]


def test_contraction_reasons_and_a_latest_loss_without_reason(
        built: duckdb.DuckDBPyConnection) -> None:
    # K2's "budget" (Feb 20); K1's latest loss (Feb 10) has no reason: unknown, not its older
    # "Budget".
    assert reasons(built, FEB) == [
        ("contraction", "Budget", 1, Decimal("8000.00"), 0.5, pytest.approx(8 / 13), 1),
        ("contraction", "unknown", 1, Decimal("5000.00"), 0.5, pytest.approx(5 / 13), 2),
    ]
    assert reasons(built, MAR) == []


def test_quarter_reasons_from_the_quarters_own_movements(
        built: duckdb.DuckDBPyConnection) -> None:
    quarter = reasons(built, JAN, "quarter")
    assert [(m, r, a, v, k) for m, r, a, v, _, _, k in quarter] == [
        ("churn", "Price", 2, Decimal("80000.00"), 1),
        ("churn", "unknown", 1, Decimal("30000.00"), 2),
        ("contraction", "Budget", 1, Decimal("8000.00"), 1),
        ("contraction", "unknown", 1, Decimal("5000.00"), 2),
    ]


def test_the_window_is_a_setting(built: duckdb.DuckDBPyConnection) -> None:
    wider = build(Settings(loss_reason_window_days=150))
    # C2's "price", 139 days before January, is now inside: all three churns are Price.
    assert [(m, r, a) for m, r, a, *_ in reasons(wider, JAN)] == [("churn", "Price", 3)]


# --- Onboarding ---------------------------------------------------------------------------------

def test_onboarding_hours_inside_the_window(built: duckdb.DuckDBPyConnection) -> None:
    found = {r["account_id"]: r for r in rows(
        built, "select * from wrk_onboardings")}
    # Day 2 (2 h), day 89 (1 h) and the hour before midnight of the entry across day 90; not
    # day 91, the support hour or the hour of someone outside the population.
    assert found["sf:A2"]["onboarding_hours"] == pytest.approx(4.0)
    assert found["sf:A2"]["days_to_value"] == 40  # 2025-01-20 to 2025-03-01
    assert found["sf:N1"]["onboarding_hours"] == 0 and found["sf:N1"]["days_to_value"] is None
    assert found["sf:A1"]["onboarding_start"] == date(2024, 6, 1)


def test_onboarding_columns_per_csm_and_team(built: duckdb.DuckDBPyConnection) -> None:
    alice = outcome(built, "csm", JAN, key=ALICE)
    # N1 (0 h, no milestone) and N2 (6 h, 20 days to value).
    assert alice["accounts_onboarded"] == 2
    assert alice["onboarding_hours_per_new_account"] == pytest.approx(3.0)
    assert alice["median_days_to_value"] == 20.0
    bob = outcome(built, "csm", JAN, key=BOB)
    assert (bob["accounts_onboarded"], bob["onboarding_hours_per_new_account"],
            bob["median_days_to_value"]) == (1, pytest.approx(4.0), 40.0)
    team = outcome(built, "team", JAN)
    assert team["accounts_onboarded"] == 3
    assert team["onboarding_hours_per_new_account"] == pytest.approx(10 / 3)
    assert team["median_days_to_value"] == 30.0
    feb = outcome(built, "team", FEB)
    assert (feb["accounts_onboarded"], feb["onboarding_hours_per_new_account"],
            feb["median_days_to_value"]) == (0, None, None)


# --- Shapes -------------------------------------------------------------------------------------

def test_interface_columns_and_types(built: duckdb.DuckDBPyConnection) -> None:
    outcome = [("nps_responses", "BIGINT"), ("nps", "DOUBLE"), ("csat_responses", "BIGINT"),
               ("csat", "DOUBLE"), ("expansion_bookings_arr", "DECIMAL(18,2)"),
               ("csm_sourced_bookings_arr", "DECIMAL(18,2)"), ("csm_sourced_won", "BIGINT"),
               ("csm_sourced_lost", "BIGINT"), ("csm_sourced_win_rate", "DOUBLE"),
               ("accounts_onboarded", "BIGINT"), ("onboarding_hours_per_new_account", "DOUBLE"),
               ("median_days_to_value", "DOUBLE")]
    period = [("period_grain", "VARCHAR"), ("period_start", "DATE")]

    def described(name: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in built.execute(f"describe {name}").fetchall()]

    # One model for every scope: the team's csm_sourced_share is every scope's column.
    assert described("wrk_outcomes") == [
        *period, ("scope", "VARCHAR"), ("scope_key", "VARCHAR"), *outcome[:6],
        ("csm_sourced_share", "DOUBLE"), *outcome[6:]]
    assert described("marts.churn_reasons") == [
        *period, ("period_end", "DATE"), ("period_status", "VARCHAR"),
        ("months_with_hours", "BIGINT"), ("movement", "VARCHAR"), ("reason", "VARCHAR"),
        ("accounts", "BIGINT"), ("arr", "DECIMAL(18,2)"), ("share_of_accounts", "DOUBLE"),
        ("share_of_arr", "DOUBLE"), ("rank_by_arr", "BIGINT")]
    # Every period gets a team row; CSM rows only where there is something.
    assert built.execute("select count(*) from wrk_outcomes where scope = 'team'").fetchone() == (
        built.execute("select count(*) from wrk_periods").fetchone())


def test_response_instants_follow_the_reporting_time_zone() -> None:
    late = [response("sf:TZ", "NPS", "10", "2025-01-31 23:30:00+00", "sf:A1")]
    utc = build(responses=late)
    assert outcome(utc, "csm", JAN, key=ALICE)["nps_responses"] == 1
    berlin = build(Settings(reporting_timezone="Europe/Berlin"), responses=late)
    # 00:30 on February 1 in Berlin.
    assert outcome(berlin, "csm", FEB, key=ALICE)["nps_responses"] == 1


def test_the_churn_reason_checks_pass_and_name_a_broken_pareto(tmp_path: Path) -> None:
    database = str(tmp_path / "warehouse.duckdb")
    build(database=database).close()
    warehouse = DuckDBResource(database=database)
    checks = (churn_reason_shares_sum_to_one, churn_reason_ranks_are_a_permutation)
    assert [c(build_asset_check_context(), warehouse=warehouse).passed for c in checks] == [
        True, True]
    with duckdb.connect(database) as conn:
        conn.execute("update marts.churn_reasons set share_of_arr = 0.5, rank_by_arr = 1 "
                     "where period_grain = 'month' and period_start = '2025-01-01' "
                     "and reason = 'unknown'")
    results = [c(build_asset_check_context(), warehouse=warehouse) for c in checks]
    assert [r.passed for r in results] == [False, False]
    assert [r.metadata["examples"].value for r in results] == [["month 2025-01-01 churn"]] * 2
