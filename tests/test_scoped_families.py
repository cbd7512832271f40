"""The metric families written once for every scope, and the time-join macros, by hand.

Each family model (wrk_retention, wrk_engagement, wrk_outcomes) runs as the project's SQL file on
a few hand-made rows of the working tables it reads, in an in-memory DuckDB. What matters most:
a grouping's NULL key is never taken for an account without an owner (`unassigned` is a person
of scope `csm`; the team is scope `team`), and every scope's figures follow the same formulas.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pytest

from transforms import ROOT, macro_paths

pytestmark = pytest.mark.fast

JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)


def connect() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("set timezone = 'UTC'")
    for path in macro_paths():
        conn.execute(path.read_text())
    return conn


def run_model(conn: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    conn.execute(f"create temp table {name} as\n{(ROOT / 'working' / f'{name}.sql').read_text()}")
    cursor = conn.execute(f"select * from {name} order by all")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def scoped(found: list[dict[str, Any]], scope: str, key: str | None,
           start: date = JAN) -> dict[str, Any]:
    rows = [r for r in found
            if r["scope"] == scope and r["scope_key"] == key and r["period_start"] == start]
    assert len(rows) == 1, (scope, key, start, found)
    return rows[0]


def periods(conn: duckdb.DuckDBPyConnection) -> None:
    """January and February 2025, months, UTC."""
    conn.execute("""
        create temp table wrk_periods as
        select * from (values
            ('month', date '2025-01-01', timestamptz '2025-01-01 00:00+00',
             timestamptz '2025-02-01 00:00+00'),
            ('month', date '2025-02-01', timestamptz '2025-02-01 00:00+00',
             timestamptz '2025-03-01 00:00+00'))
            as t(period_grain, period_start, start_instant, end_instant)""")


# --- Macros -------------------------------------------------------------------------------------

def test_owned_at_is_half_open_and_local_midnight_follows_the_time_zone() -> None:
    conn = connect()
    conn.execute("""
        create temp table ownership as select * from (values
            ('A', 'alice', timestamptz '2025-01-01 00:00+00', timestamptz '2025-01-15 00:00+00'),
            ('A', 'bob', timestamptz '2025-01-15 00:00+00', timestamptz 'infinity'))
            as t(account_id, csm_id, valid_from, valid_to)""")

    def owner(account: str, instant: str) -> str:
        return conn.execute(
            "select coalesce(max(ownership.csm_id), 'unassigned') from (select 1) "
            "left join ownership on owned_at(ownership, $account, cast($at as timestamptz))",
            {"account": account, "at": instant}).fetchone()[0]

    assert owner("A", "2025-01-14 23:59:59+00") == "alice"
    assert owner("A", "2025-01-15 00:00:00+00") == "bob"  # valid_to is not in the interval
    assert owner("A", "2024-12-31 23:59:59+00") == "unassigned"
    assert owner("B", "2025-01-10 00:00:00+00") == "unassigned"
    berlin = conn.execute(
        "select local_midnight(date '2025-02-01', 'Europe/Berlin')").fetchone()[0]
    assert berlin == datetime(2025, 1, 31, 23, 0, tzinfo=UTC)
    periods(conn)
    inside = conn.execute(
        "select period_start from wrk_periods "
        "where in_period(wrk_periods, timestamptz '2025-02-01 00:00+00')").fetchall()
    assert inside == [(FEB,)]


# --- Retention -----------------------------------------------------------------------------------

def account_periods(conn: duckdb.DuckDBPyConnection) -> None:
    """January: A moves alice -> unassigned and expands 100 -> 150; B (bob) churns 50; C is
    new on no one's book (unassigned, 70); D returns to bob (30, reactivation). February: none."""
    conn.execute("""
        create temp table wrk_account_periods as
        select period_grain, period_start, account_id, owner_at_start, owner_at_end,
            cast(starting_arr as decimal(18, 2)) as starting_arr,
            cast(ending_arr as decimal(18, 2)) as ending_arr, movement,
            cast(new_arr as decimal(18, 2)) as new_arr,
            cast(reactivation_arr as decimal(18, 2)) as reactivation_arr,
            cast(expansion_arr as decimal(18, 2)) as expansion_arr,
            cast(contraction_arr as decimal(18, 2)) as contraction_arr,
            cast(churned_arr as decimal(18, 2)) as churned_arr
        from (values
            ('month', date '2025-01-01', 'A', 'alice', 'unassigned', 100, 150, 'expansion',
             0, 0, 50, 0, 0),
            ('month', date '2025-01-01', 'B', 'bob', 'bob', 50, 0, 'churn', 0, 0, 0, 0, 50),
            ('month', date '2025-01-01', 'C', 'unassigned', 'unassigned', 0, 70, 'new',
             70, 0, 0, 0, 0),
            ('month', date '2025-01-01', 'D', 'bob', 'bob', 0, 30, 'reactivation',
             0, 30, 0, 0, 0))
            as t(period_grain, period_start, account_id, owner_at_start, owner_at_end,
                 starting_arr, ending_arr, movement, new_arr, reactivation_arr, expansion_arr,
                 contraction_arr, churned_arr)""")


def test_retention_keeps_unassigned_apart_from_the_team() -> None:
    conn = connect()
    periods(conn)
    account_periods(conn)
    found = run_model(conn, "wrk_retention")
    alice, bob = scoped(found, "csm", "alice"), scoped(found, "csm", "bob")
    unassigned, team = scoped(found, "csm", "unassigned"), scoped(found, "team", None)
    # Alice's starting book is A: its expansion is hers, though she lost it by the end.
    assert (alice["accounts_at_start"], alice["starting_arr"], alice["expansion_arr"]) == (
        1, 100, 50)
    assert (alice["accounts_at_end"], alice["nrr"], alice["logo_retention"]) == (0, 1.5, 1.0)
    assert (bob["churned_arr"], bob["accounts_churned"], bob["reactivation_arr"]) == (50, 1, 30)
    assert (bob["grr"], bob["logo_retention"], bob["arr_at_end"]) == (0.0, 0.0, 30)
    # Unassigned ends with A and C: an ending book and no starting one, so no NRR.
    assert (unassigned["accounts_at_end"], unassigned["arr_at_end"]) == (2, 220)
    assert (unassigned["new_arr"], unassigned["nrr"], unassigned["net_retained_arr"]) == (
        70, None, 0)
    # The team: every customer, whoever owns it; unassigned is not an owner.
    assert (team["accounts_at_start"], team["starting_arr"], team["accounts_at_end"],
            team["arr_at_end"], team["owners_at_end"]) == (2, 150, 3, 250, 1)
    # (150 + 50 expansion - 50 churn) / 150, and (150 - 50 churn) / 150.
    assert (team["nrr"], team["grr"]) == (1.0, pytest.approx(100 / 150))
    # The people's movements add up to the team's, for which e = s + movements (a person's
    # books differ by the accounts handed over, as A from alice to unassigned).
    people = [r for r in found if r["scope"] == "csm" and r["period_start"] == JAN]
    for column in ("starting_arr", "new_arr", "reactivation_arr", "expansion_arr",
                   "contraction_arr", "churned_arr", "arr_at_end"):
        assert sum(r[column] for r in people) == team[column], column
    assert team["arr_at_end"] == (team["starting_arr"] + team["new_arr"]
                                  + team["reactivation_arr"] + team["expansion_arr"]
                                  - team["contraction_arr"] - team["churned_arr"])
    # February has no accounts: a team row of zeros, no people.
    february = [r for r in found if r["period_start"] == FEB]
    assert [(r["scope"], r["accounts_at_start"], r["nrr"]) for r in february] == [
        ("team", 0, None)]


# --- Engagement ----------------------------------------------------------------------------------

def test_engagement_counts_each_scope_from_the_same_events() -> None:
    conn = connect()
    periods(conn)
    account_periods(conn)
    conn.execute("""
        create temp table wrk_touchpoint_periods as select * from (values
            ('month', date '2025-01-01', 'alice', 'A', 2),
            ('month', date '2025-01-01', 'bob', 'D', 1),
            ('month', date '2025-01-01', 'bob', 'B', 1),
            ('month', date '2025-01-01', 'alice', 'C', 1))
            as t(period_grain, period_start, csm_id, account_id, touchpoints)""")
    conn.execute("""
        create temp table wrk_inbound_message_periods as select * from (values
            ('month', date '2025-01-01', 'unassigned', 'C', 2.0,
             timestamptz '2025-01-05 02:00+00'),
            ('month', date '2025-01-01', 'bob', 'D', 30.0, timestamptz '2025-01-06 06:00+00'),
            ('month', date '2025-01-01', 'bob', 'D', null, null))
            as t(period_grain, period_start, owner_csm_id, account_id, response_hours,
                 answered_at)""")
    found = run_model(conn, "wrk_engagement")
    alice, bob = scoped(found, "csm", "alice"), scoped(found, "csm", "bob")
    unassigned, team = scoped(found, "csm", "unassigned"), scoped(found, "team", None)
    # A and C are customers at the end but unassigned's: not on alice's book.
    assert (alice["touchpoints"], alice["accounts_touched"], alice["touchpoints_on_book"],
            alice["customers_touched"]) == (3, 0, 0, 2)
    # D is on bob's ending book; B churned.
    assert (bob["touchpoints"], bob["accounts_touched"], bob["touchpoints_on_book"]) == (2, 1, 1)
    assert (bob["inbound_messages"], bob["median_response_hours"], bob["answered_within_24h"],
            bob["unanswered_messages"]) == (2, 30.0, 0, 1)
    # Unassigned owns C's e-mail: a person's row, apart from the team's.
    assert (unassigned["touchpoints"], unassigned["inbound_messages"],
            unassigned["median_response_hours"]) == (0, 1, 2.0)
    assert (team["touchpoints"], team["customers_touched"], team["inbound_messages"],
            team["median_response_hours"]) == (5, 3, 3, 16.0)
    assert scoped(found, "account", "A")["touchpoints"] == 2
    assert scoped(found, "account", "D")["inbound_messages"] == 2
    assert not [r for r in found if r["period_start"] == FEB]


# --- Outcomes ------------------------------------------------------------------------------------

def test_outcomes_team_and_unassigned_are_different_rows() -> None:
    conn = connect()
    periods(conn)
    conn.execute("""
        create temp table wrk_outcomes_items as
        select period_grain, period_start, kind, csm_id, account_id, survey_type, is_promoter,
            is_detractor, is_satisfied, cast(annual_value as decimal(18, 2)) as annual_value,
            is_expansion, is_csm_sourced, is_won, onboarding_hours, days_to_value
        from (values
            ('month', date '2025-01-01', 'response', 'alice', 'A', 'NPS', true, false, null,
             null, null, null, null, null::double, null::bigint),
            ('month', date '2025-01-01', 'response', 'unassigned', 'C', 'NPS', false, true, null,
             null, null, null, null, null, null),
            ('month', date '2025-01-01', 'response', 'unassigned', null, 'NPS', false, true,
             null, null, null, null, null, null, null),
            ('month', date '2025-01-01', 'booking', 'alice', 'A', null, null, null, null,
             300, true, true, null, null, null),
            ('month', date '2025-01-01', 'booking', 'bob', 'D', null, null, null, null,
             100, true, false, null, null, null),
            ('month', date '2025-01-01', 'onboarding', 'unassigned', 'C', null, null, null,
             null, null, null, null, null, 4.0, 10))
            as t(period_grain, period_start, kind, csm_id, account_id, survey_type,
                 is_promoter, is_detractor, is_satisfied, annual_value, is_expansion,
                 is_csm_sourced, is_won, onboarding_hours, days_to_value)""")
    found = run_model(conn, "wrk_outcomes")
    unassigned, team = scoped(found, "csm", "unassigned"), scoped(found, "team", None)
    assert (unassigned["nps_responses"], unassigned["nps"], unassigned["accounts_onboarded"]) == (
        2, -100.0, 1)
    assert (team["nps_responses"], team["nps"]) == (3, pytest.approx(100 * (1 - 2) / 3))
    assert (team["expansion_bookings_arr"], team["csm_sourced_bookings_arr"],
            team["csm_sourced_share"]) == (400, 300, 0.75)
    assert scoped(found, "csm", "alice")["nps"] == 100.0
    assert scoped(found, "account", "C")["nps_responses"] == 1
    # The response on no account is the team's and unassigned's, never an account's.
    assert not [r for r in found if r["scope"] == "account" and r["scope_key"] is None]
    # Every period has a team row, even one without items.
    assert scoped(found, "team", None, FEB)["nps_responses"] == 0
    assert [r["scope"] for r in found if r["period_start"] == FEB] == ["team"]
