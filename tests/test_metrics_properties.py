"""Invariants of the marts on random companies (hypothesis), at every grain.

Each example generates a company, serves it from the fake APIs, pulls it through the real
connectors, and builds the marts for six months (Dagster is left out to keep examples fast; the
whole graph is tested elsewhere). Whatever the company, time zone or fiscal year:
- every account's and the team's ARR waterfall closes;
- per-CSM starting-book movements, `unassigned` included, add up to the team's;
- an account's and the team's ending ARR equals the next month's starting ARR;
- rebuilding gives identical tables.
And for hours, with a roster, aliases and people who left: per-CSM hours add up to the team's
and equal a count made from the company itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dagster import TimeWindow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.streams import Window
from pipelines.partitions import month_windows
from pipelines.settings import Person as RosterPerson
from pipelines.settings import Settings
from sandbox.company import Company, generate_company
from sandbox.servers import Sandbox
from tests.conftest import fake_connectors
from warehouse.loading import land
from warehouse.marts import MART_TABLES, build_month_marts
from warehouse.schema import prepare

START, END = date(2025, 1, 1), date(2025, 7, 1)
MOVEMENTS = ("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr")



def build(sandbox: Sandbox, rules: Settings) -> duckdb.DuckDBPyConnection:
    connectors = fake_connectors(sandbox)
    conn = duckdb.connect(":memory:")
    streams = [s for c in connectors for s in c.streams.values()]
    prepare(conn, streams, rules.for_warehouse(), rules.tables())
    for connector in connectors:
        for stream in connector.streams.values():
            windows = list(months(rules)) if stream.write_mode == "replace_window" else [None]
            for window in windows:
                land(conn, stream, connector.read(stream, window), "pull", window)
    build_month_marts(conn, START, END, "first", as_of(rules))
    return conn


def as_of(rules: Settings) -> datetime:
    """The day after the company's history: the periods it covers are complete, those that run
    past it open, those with months before it partial (docs/metrics.md, Periods)."""
    return datetime(END.year, END.month, END.day, tzinfo=ZoneInfo(rules.reporting_timezone))


def months(rules: Settings) -> Iterator[Window]:
    zone = ZoneInfo(rules.reporting_timezone)
    return month_windows(TimeWindow(datetime(2025, 1, 1, tzinfo=zone),
                                    datetime(2025, 7, 1, tzinfo=zone)))


def rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    cursor = conn.execute(f"select * exclude (as_of, loaded_at, run_id) from marts.{table} "
                          "order by all")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(autouse=True)
def _no_settings_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSM_METRICS_SETTINGS", raising=False)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), csm_count=st.integers(2, 5),
       account_count=st.integers(3, 14),
       timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
       fiscal_start=st.integers(1, 12))
def test_invariants_hold_on_random_companies(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, seed: int,
        csm_count: int, account_count: int, timezone: str, fiscal_start: int) -> None:
    company = generate_company(seed=seed, csm_count=csm_count, account_count=account_count,
                               start=START, end=END, entries_per_day=1)
    rules = Settings(reporting_timezone=timezone, fiscal_year_start_month=fiscal_start)
    with Sandbox(company).start(str(tmp_path_factory.mktemp("ca"))) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        conn = build(sandbox, rules)

    accounts, people, team = (rows(conn, t) for t in (
        "account_period_metrics", "csm_period_metrics", "team_period_metrics"))
    assert {r["period_grain"] for r in team} == {"month", "quarter", "year", "ttm"}

    for row in (*accounts, *team):
        ending = row.get("ending_arr", row.get("total_arr"))
        assert ending == (row["starting_arr"] + row["new_arr"] + row["reactivation_arr"]
                          + row["expansion_arr"] - row["contraction_arr"] - row["churned_arr"])

    sums: dict[tuple, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in people:
        key = (row["period_grain"], row["period_start"])
        for name in (*MOVEMENTS, "starting_arr", "arr_managed"):
            sums[key][name] += row[name]
    for row in team:
        key = (row["period_grain"], row["period_start"])
        assert {m: sums[key][m] for m in (*MOVEMENTS, "starting_arr")} == {
            m: row[m] for m in (*MOVEMENTS, "starting_arr")}
        assert sums[key]["arr_managed"] == row["total_arr"]

    monthly = [r for r in team if r["period_grain"] == "month"]
    assert len(monthly) == 6
    for before, after in pairwise(monthly):
        assert before["total_arr"] == after["starting_arr"]
    by_account: dict[str, dict[date, dict]] = defaultdict(dict)
    for row in accounts:
        if row["period_grain"] == "month":
            by_account[row["account_id"]][row["period_start"]] = row
    for periods in by_account.values():
        for month, row in periods.items():
            following = periods.get(date(month.year + month.month // 12, month.month % 12 + 1, 1))
            if following is not None:
                assert row["ending_arr"] == following["starting_arr"]

    before = {t: rows(conn, t) for t in MART_TABLES}
    build_month_marts(conn, START, END, "again", as_of(rules))
    assert {t: rows(conn, t) for t in MART_TABLES} == before


def expected_hours(company: Company, rules: Settings, periods: set[tuple[str, date, date]]
                   ) -> dict[tuple[str, date, str], int]:
    """Worked milliseconds per (grain, period start, csm_id), computed from the company itself:
    each stopped, non-leave entry of a population member, pulled (it starts inside the pulled
    months), split at the period's instants in the reporting time zone (docs/metrics.md,
    "Hours")."""
    zone = ZoneInfo(rules.reporting_timezone)
    aliases = {a: p.email for p in rules.roster for a in p.aliases}

    def person_id(email: str) -> str:
        folded = email.strip().lower()
        return aliases.get(folded, folded)

    emails = {p.key: p.email for p in company.people}
    population = {person_id(emails[key]) for a in company.accounts for _, key in a.owners
                  if key is not None} | {p.email for p in rules.roster}
    first = datetime.combine(START, datetime.min.time(), tzinfo=zone)
    last = datetime.combine(END, datetime.min.time(), tzinfo=zone)
    totals: dict[tuple[str, date, str], int] = defaultdict(int)
    for entry in company.entries:
        person = company.person(entry.person_key)
        csm_id = person_id(person.tracker_email or person.email)
        leave = (entry.kind != "REGULAR"
                 or (entry.project or "").lower() in rules.leave_projects
                 or any(t.lower() in rules.leave_tags for t in entry.tags))
        if (entry.stop is None or leave or csm_id not in population
                or not first <= entry.start < last):
            continue
        for grain, period_start, period_end in periods:
            begins = datetime.combine(period_start, datetime.min.time(), tzinfo=zone)
            ends = datetime.combine(period_end, datetime.min.time(), tzinfo=zone)
            overlap = min(entry.stop, ends) - max(entry.start, begins)
            if overlap > timedelta(0):
                totals[(grain, period_start, csm_id)] += overlap // timedelta(milliseconds=1)
    return totals


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), csm_count=st.integers(2, 5),
       account_count=st.integers(3, 14),
       timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
       fiscal_start=st.integers(1, 12), aliased=st.sets(st.integers(0, 4)),
       leavers=st.sets(st.integers(0, 4)), engineer_on_roster=st.booleans())
def test_hours_add_up_and_match_an_independent_count(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, seed: int,
        csm_count: int, account_count: int, timezone: str, fiscal_start: int, aliased: set[int],
        leavers: set[int], engineer_on_roster: bool) -> None:
    """With a roster whose aliases are the trackers' e-mails for some CSMs, people who left
    (archived HubSpot owners, inactive Salesforce users, inactive Clockify members), and maybe
    a non-CSM tracker user put on the roster: per-CSM hours add up to the team's, and equal a
    count made from the company itself."""
    company = generate_company(seed=seed, csm_count=csm_count, account_count=account_count,
                               start=START, end=END, entries_per_day=1)
    csms = company.people[:csm_count]
    roster = []
    for n, person in enumerate(csms):
        if n in aliased:  # the tracker knows this CSM by another e-mail, which the roster maps
            person.tracker_email = f" {person.key}.Tracker@Example.NET "
            alias = f"{person.key}.tracker@example.net"
            roster.append(RosterPerson(email=person.email, aliases=(alias,)))
        # A fresh pull cannot learn a removed Toggl user's e-mail (Toggl lists only current
        # members); the other vendors list leavers, so they may leave here.
        if n in leavers and person.tracker != "toggl":
            person.left_at = datetime(2025, 4, 1, tzinfo=UTC)
    if engineer_on_roster:
        roster.append(RosterPerson(email=company.person("eng").email, name="Sam Engineer"))
    rules = Settings(reporting_timezone=timezone, fiscal_year_start_month=fiscal_start,
                     roster=tuple(roster))
    with Sandbox(company).start(str(tmp_path_factory.mktemp("ca"))) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        conn = build(sandbox, rules)

    people, team = rows(conn, "csm_period_metrics"), rows(conn, "team_period_metrics")
    periods = {(r["period_grain"], r["period_start"], r["period_end"]) for r in team}
    expected = expected_hours(company, rules, periods)
    assert expected  # the company tracked time
    # A period with a month before the history (never pulled) is partial: no hours at all.
    partial = {(r["period_grain"], r["period_start"]) for r in team
               if r["period_status"] == "partial"}
    assert all(r["hours_worked"] is None for r in people
               if (r["period_grain"], r["period_start"]) in partial)
    assert all(r["period_start"] < START for r in team if r["period_status"] == "partial")
    got = {(r["period_grain"], r["period_start"], r["csm_id"]): r["hours_worked"]
           for r in people if (r["period_grain"], r["period_start"]) not in partial}
    expected = {key: value for key, value in expected.items() if key[:2] not in partial}
    for key in expected.keys() | got.keys():
        assert got.get(key, 0.0) == pytest.approx(expected.get(key, 0) / 3_600_000, abs=1e-9), key
    for row in team:
        if (row["period_grain"], row["period_start"]) in partial:
            continue
        per_csm = sum(r["hours_worked"] for r in people
                      if (r["period_grain"], r["period_start"]) == (row["period_grain"],
                                                                    row["period_start"]))
        assert row["hours_worked"] == pytest.approx(per_csm, abs=1e-9)
