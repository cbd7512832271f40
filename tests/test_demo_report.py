"""The demo's engagement and churn-reason tables, printed from a small hand-made warehouse."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from sandbox.demo import print_churn_reasons, print_engagement

pytestmark = pytest.mark.fast

OCTOBER = date(2026, 10, 1)


@pytest.fixture()
def marts(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    conn.execute("""
        create schema marts;
        create table marts.csm_period_metrics (
            period_grain varchar, period_start date, csm_id varchar, csm_name varchar,
            arr_managed decimal(18, 2), touchpoints bigint, accounts_touched bigint,
            touch_coverage double, median_response_hours double, responses_within_24h double,
            unanswered_messages bigint, nps double, csat double,
            csm_sourced_bookings_arr decimal(18, 2), csm_sourced_win_rate double,
            onboarding_hours_per_new_account double);
        insert into marts.csm_period_metrics values
            ('month', '2026-10-01', 'unassigned', 'Unassigned', 90000, 0, 0, 0, null, null, 1,
             null, null, 0, null, null),
            ('month', '2026-10-01', 'p01', 'Ben Okafor', 300000, 4, 2, 1.0, 24.0, 0.5, 1,
             0.0, 0.6666666666666666, 12000, 0.5, 7.5),
            ('month', '2026-10-01', 'p00', 'Ana Lopez', 200000, 9, 3, 0.75, 2.25, 1.0, 0,
             50.0, null, 0, null, null),
            ('month', '2026-09-01', 'p00', 'Ana Lopez', 200000, 99, 3, 0.75, 2.25, 1.0, 0,
             50.0, null, 0, null, null),
            ('quarter', '2026-10-01', 'p00', 'Ana Lopez', 200000, 98, 3, 0.75, 2.25, 1.0, 0,
             50.0, null, 0, null, null);
        create table marts.team_period_metrics (
            period_grain varchar, period_start date, period_end date);
        insert into marts.team_period_metrics values
            ('year', '2025-01-01', '2026-01-01'), ('year', '2026-01-01', '2027-01-01'),
            ('quarter', '2026-07-01', '2026-10-01');
        create table marts.churn_reasons (
            period_grain varchar, period_start date, movement varchar, reason varchar,
            accounts bigint, arr decimal(18, 2), share_of_accounts double, share_of_arr double,
            rank_by_arr bigint);
        insert into marts.churn_reasons values
            ('year', '2025-01-01', 'churn', 'unknown', 1, 10000, 1 / 3, 10 / 74, 2),
            ('year', '2025-01-01', 'churn', 'budget', 2, 64000, 2 / 3, 64 / 74, 1),
            ('year', '2026-01-01', 'churn', 'champion left', 1, 5000, 1, 1, 1),
            ('quarter', '2025-01-01', 'contraction', 'budget', 1, 3000, 1, 1, 1);
    """)
    return conn


def test_engagement_of_the_month_per_csm(marts: duckdb.DuckDBPyConnection,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    print_engagement(marts, OCTOBER)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Engagement and outcomes, October 2026 (marts.csm_period_metrics)"
    assert lines[2].split() == [
        "CSM", "touchpoints", "touched", "coverage", "median", "reply", "h", "in", "24", "h",
        "unanswered", "NPS", "CSAT", "CSM-sourced", "ARR", "win", "rate",
        "onboarding", "h/new"]
    # Ordered as the per-CSM table (ARR managed, the unassigned bucket last), one month only.
    assert lines[3].split() == ["Ben", "Okafor", "4", "2", "1.000", "24.0", "0.500", "1",
                                "0", "0.667", "12,000", "0.500", "7.500"]
    assert lines[4].split() == ["Ana", "Lopez", "9", "3", "0.750", "2.250", "1.000", "0",
                                "50", "-", "0", "-", "-"]
    assert lines[5].split() == ["Unassigned", "0", "0", "0.000", "-", "-", "1", "-", "-", "0",
                                "-", "-"]
    assert len(lines) == 6


def test_churn_reason_pareto_of_the_last_full_year(marts: duckdb.DuckDBPyConnection,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    print_churn_reasons(marts, date(2026, 11, 1))
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Churn reasons, year from January 2025 (marts.churn_reasons, by ARR)"
    assert lines[2].split() == ["reason", "accounts", "ARR", "share", "of", "ARR", "cumulative"]
    assert lines[3].split() == ["budget", "2", "64,000", "0.865", "0.865"]
    assert lines[4].split() == ["unknown", "1", "10,000", "0.135", "1.000"]
    assert lines[6] == ("Contraction reasons, year from January 2025 "
                        "(marts.churn_reasons, by ARR)")
    assert lines[7] == "  no contraction in the year"
    assert len(lines) == 8


def test_no_full_year_yet(marts: duckdb.DuckDBPyConnection,
                          capsys: pytest.CaptureFixture[str]) -> None:
    print_churn_reasons(marts, date(2025, 12, 1))
    assert capsys.readouterr().out == "\nChurn reasons: no full year in the marts yet\n"
