"""Complete, open and partial periods, the trailing twelve months and onboarding hours up to
`as_of` (docs/metrics.md, Periods and snapshots; Onboarding), on the tiny company.

The tiny company was pulled for January to March 2025 by `tiny_built` (its time-entry pull also
took April to June, the months its accounts' onboarding windows reach). Each test rebuilds the
marts of a copy of that warehouse with `as_of` fixed, so the figures are those of a given day;
the expected numbers are worked out from tests/tiny_company.py by hand.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.crm import assets as crm
from pipelines.partitions import onboarding_tail
from pipelines.settings import load_settings
from pipelines.time_tracking import assets as time_tracking
from tests.conftest import TinyBuild, read_rows
from tests.tiny_company import BOB, DAVE
from warehouse.marts import build_month_marts
from warehouse.schema import prepare

JAN, FEB, MAR, APR, MAY = (date(2025, m, 1) for m in range(1, 6))
STREAMS = [*crm.STREAMS, *time_tracking.STREAMS]


@pytest.fixture()
def copy(tiny_built: TinyBuild, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of the tiny company's warehouse, prepared under its settings."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_built.warehouse, path)
    settings = load_settings(str(tiny_built.folder / "settings.toml"))
    with duckdb.connect(str(path)) as conn:
        prepare(conn, STREAMS, settings.for_warehouse(), settings.tables())
        yield conn


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def row(conn: duckdb.DuckDBPyConnection, table: str, grain: str, start: date,
        **keys: str) -> dict:
    where = "".join(f" and {k} = ${k}" for k in keys)
    cursor = conn.execute(f"select * from marts.{table} where period_grain = $g "
                          f"and period_start = $s{where}", {"g": grain, "s": start, **keys})
    names = [d[0] for d in cursor.description]
    found = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    assert len(found) == 1, (table, grain, start, keys, found)
    return found[0]


def test_a_contract_lapsing_later_in_an_open_quarter_is_not_churn(
        copy: duckdb.DuckDBPyConnection) -> None:
    # Oscorp (dave's, 36,000 a year) lapses on 2025-03-01. On 20 February the quarter and the
    # month are open, measured to that day: Oscorp is still a customer.
    build_month_marts(copy, JAN, APR, "on-feb-20", at("2025-02-20"))
    quarter = row(copy, "csm_period_metrics", "quarter", JAN, csm_id=DAVE)
    assert quarter["period_status"] == "open"
    assert (quarter["churned_arr"], quarter["accounts_churned"]) == (0, 0)
    assert row(copy, "team_period_metrics", "month", FEB)["period_status"] == "open"
    assert row(copy, "csm_period_metrics", "month", FEB, csm_id=DAVE)["churned_arr"] == 0
    oscorp = read_account(copy, "quarter", JAN, "Oscorp")
    assert (oscorp["ending_arr"], oscorp["movement"]) == (Decimal("36000.00"), "flat")
    # March has not begun on 20 February: nothing describes it yet, so it is not rebuilt.
    assert row(copy, "team_period_metrics", "month", MAR)["run_id"] != "on-feb-20"
    # On 2 March it has lapsed: the open quarter counts it as churn.
    build_month_marts(copy, JAN, APR, "on-mar-2", at("2025-03-02"))
    quarter = row(copy, "csm_period_metrics", "quarter", JAN, csm_id=DAVE)
    assert quarter["period_status"] == "open"
    assert quarter["churned_arr"] == Decimal("36000.00")


def read_account(conn: duckdb.DuckDBPyConnection, grain: str, start: date, name: str) -> dict:
    return row(conn, "account_period_metrics", grain, start, account_name=name)


def test_an_open_month_prorates_capacity_and_cost_to_the_days_begun(
        copy: duckdb.DuckDBPyConnection) -> None:
    # 15 February 00:00: 14 of February's 28 days begun, 10 of them weekdays (3-7, 10-14).
    build_month_marts(copy, FEB, MAR, "on-feb-15", at("2025-02-15"))
    bob = row(copy, "csm_period_metrics", "month", FEB, csm_id=BOB)
    assert bob["period_status"] == "open"
    assert bob["fully_loaded_cost"] == Decimal("4000.00")  # 96,000 / 12 x 14 / 28
    assert bob["capacity_hours"] == pytest.approx(0.5 * 8 * 10)  # FTE 0.5, 8 h a weekday
    # Complete, the month has its whole cost and capacity (20 weekdays).
    build_month_marts(copy, FEB, MAR, "complete", at("2025-03-01"))
    bob = row(copy, "csm_period_metrics", "month", FEB, csm_id=BOB)
    assert bob["period_status"] == "complete"
    assert (bob["fully_loaded_cost"], bob["capacity_hours"]) == (Decimal("8000.00"), 80)


def test_an_open_month_counts_everyone_employed_as_a_whole_fte(
        copy: duckdb.DuckDBPyConnection) -> None:
    from dagster import build_asset_check_context
    from dagster_duckdb import DuckDBResource

    from pipelines.metrics.checks import capacity_fte_is_the_rosters

    def fte(as_of: str) -> float:
        build_month_marts(copy, FEB, MAR, as_of, at(as_of))
        return row(copy, "capacity_plan", "month", FEB, segment="all")["fte_available"]

    # Nobody starts or leaves in February: half-way through it, the team is as many FTE as
    # once it is over (its capacity and cost are prorated, its people are not).
    assert fte("2025-02-15") == pytest.approx(fte("2025-03-01"))
    fte("2025-02-15")
    copy.execute("checkpoint")
    path = copy.execute("select path from duckdb_databases() "
                        "where database_name = current_database()").fetchone()[0]
    copy.close()
    check = capacity_fte_is_the_rosters(build_asset_check_context(),
                                        warehouse=DuckDBResource(database=path))
    assert check.passed, check.metadata


def test_a_year_with_months_never_pulled_is_partial_and_has_no_hours(
        tiny_built: TinyBuild) -> None:
    rows = read_rows(tiny_built.warehouse, """
        select csm_id, period_status, months_with_hours, hours_worked, capacity_hours,
               utilization, accounts_per_hour, arr_managed
        from marts.csm_period_metrics where period_grain = 'year' and period_start = $y""",
                     {"y": JAN})
    assert rows
    for found in rows:
        # January to June pulled (the range and its onboarding months), July to December not.
        assert (found["period_status"], found["months_with_hours"]) == ("partial", 6), found
        assert found["hours_worked"] is None and found["capacity_hours"] is None
        assert found["utilization"] is None and found["accounts_per_hour"] is None
    assert any(found["arr_managed"] > 0 for found in rows)  # the CRM columns stand
    team = read_rows(tiny_built.warehouse, "select * from marts.team_period_metrics "
                     "where period_start = $q and period_grain in ('quarter', 'year') "
                     "order by period_grain", {"q": JAN})
    quarter, year = team
    assert quarter["period_status"] == "complete" and quarter["hours_worked"] > 0
    assert year["hours_worked"] is None and year["total_arr"] > 0
    hours = read_rows(tiny_built.warehouse, "select distinct hours from marts.csm_activity_hours "
                      "where period_grain = 'year' and period_start = $y", {"y": JAN})
    assert hours == [{"hours": None}]
    plan = read_rows(tiny_built.warehouse, "select fte_needed, account_hours from "
                     "marts.capacity_plan where period_grain = 'year' and segment = 'all'")
    assert plan == [{"fte_needed": None, "account_hours": None}]


def test_trailing_twelve_months_come_from_their_own_snapshots(tiny_built: TinyBuild) -> None:
    # The twelve months to March 2025: customers on 2024-04-01 were Initech 24,000, Umbrella
    # 36,000, Stark 50,000 and Oscorp 36,000. By 2025-04-01 Initech and Oscorp lapsed, Stark
    # renewed at 40,000 and Umbrella came back at 48,000.
    (ttm,) = read_rows(tiny_built.warehouse, "select * from marts.team_period_metrics "
                       "where period_grain = 'ttm' and period_end = $e", {"e": APR})
    assert (ttm["period_start"], ttm["customers_at_start"]) == (date(2024, 4, 1), 4)
    assert ttm["starting_arr"] == Decimal("146000.00")
    assert (ttm["expansion_arr"], ttm["contraction_arr"], ttm["churned_arr"]) == (
        Decimal("12000.00"), Decimal("10000.00"), Decimal("60000.00"))
    assert ttm["nrr"] == pytest.approx(88000 / 146000)
    assert ttm["grr"] == pytest.approx(76000 / 146000)
    assert ttm["logo_retention"] == pytest.approx(0.5)
    # April 2024 to December 2024 were never pulled.
    assert (ttm["period_status"], ttm["months_with_hours"]) == ("partial", 3)
    assert ttm["hours_worked"] is None
    people = read_rows(tiny_built.warehouse, "select sum(starting_arr) as s, sum(churned_arr) "
                       "as c from marts.csm_period_metrics where period_grain = 'ttm' "
                       "and period_end = $e", {"e": APR})
    assert people == [{"s": Decimal("146000.00"), "c": Decimal("60000.00")}]
    reasons = read_rows(tiny_built.warehouse, "select sum(accounts) as n from "
                        "marts.churn_reasons where period_grain = 'ttm' and period_end = $e "
                        "and movement = 'churn'", {"e": APR})
    assert reasons == [{"n": 2}]
    absent = read_rows(tiny_built.warehouse, "select count(*) as n from "
                       "marts.account_period_metrics where period_grain = 'ttm'")
    assert absent == [{"n": 0}]


def onboarding_hours(conn: duckdb.DuckDBPyConnection) -> float:
    return row(conn, "csm_period_metrics", "month", MAR,
               csm_id=DAVE)["onboarding_hours_per_new_account"]


def test_a_later_refresh_rebuilds_a_month_whose_onboarding_windows_were_open(
        copy: duckdb.DuckDBPyConnection) -> None:
    # Vandelay (from 2025-03-03) and Gringotts (2025-03-17) onboard in March: 3 h and 1.5 h by
    # 31 March; Vandelay's 2 h on 8 April come later.
    build_month_marts(copy, MAR, APR, "march-close", at("2025-03-31"))
    assert onboarding_hours(copy) == pytest.approx((3 + 1.5) / 2)
    # The refresh of April rebuilds March, whose windows were still open on 1 April.
    build_month_marts(copy, APR, MAY, "april-refresh", at("2025-04-10"))
    assert onboarding_hours(copy) == pytest.approx((3 + 2 + 1.5) / 2)
    assert row(copy, "team_period_metrics", "month", MAR)["run_id"] == "april-refresh"


def test_the_onboarding_windows_of_a_tiny_build_count_hours_after_its_months(
        tiny_built: TinyBuild) -> None:
    # tiny_built names January to March; Vandelay's April hours were pulled with them.
    (found,) = read_rows(tiny_built.warehouse, "select onboarding_hours_per_new_account as h "
                         "from marts.csm_period_metrics where period_grain = 'month' "
                         "and period_start = $m and csm_id = $d", {"m": MAR, "d": DAVE})
    assert found["h"] == pytest.approx((3 + 2 + 1.5) / 2)


def test_the_pull_takes_the_months_the_onboarding_windows_reach_up_to_as_of() -> None:
    from dagster import TimeWindow

    december = TimeWindow(at("2025-01-01"), at("2026-01-01"))
    tail = onboarding_tail(december, 90, at("2026-01-10T08:00:00"))
    assert tail is not None and (tail.start, tail.end) == (at("2026-01-01"), at("2026-02-01"))
    tail = onboarding_tail(december, 90, at("2026-12-06"))
    assert tail is not None and tail.end == at("2026-04-01")  # 90 days reach 31 March
    assert onboarding_tail(december, 90, at("2025-12-20")) is None  # nothing after it yet
