"""Steering the team on hand-made inputs in in-memory DuckDB (the fast tier); the tiny
build's readers are in test_steering.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
import statsmodels.api as sm

from tests.test_steering import (
    BASE,
    MONTHS,
    SIGNALS,
    capacity_conn,
    capacity_rows,
    chart,
    fired,
    generated_units,
    kpi_control_rows,
)
from warehouse.drivers import fit_drivers

pytestmark = pytest.mark.fast


def test_a_single_point_outside_the_limits(conn: duckdb.DuckDBPyConnection) -> None:
    rows = chart(conn, {("nrr", "team"): [*BASE, 17]})[("nrr", "team")]
    seventh = rows[6]
    # Baseline Jan-Jun: mean 66 / 6 = 11, five moving ranges of 2: mr_bar 2.
    assert seventh["baseline_points"] == 6
    assert seventh["centre"] == pytest.approx(11.0)
    assert seventh["mr_bar"] == pytest.approx(2.0)
    assert seventh["sigma"] == pytest.approx(2 / 1.128)
    assert seventh["unpl"] == pytest.approx(11 + 2.66 * 2)  # 16.32
    assert seventh["lnpl"] == pytest.approx(11 - 2.66 * 2)  # 5.68
    # 17 > 16.32: beyond. It is beyond 2 sigma too, but alone (June had no limits).
    assert fired(rows) == {"beyond_limits": [7], "run_of_8": [],
                           "two_of_three_beyond_2sigma": [], "four_of_five_beyond_1sigma": []}


def test_too_few_points_give_null_limits_and_null_signals(
        conn: duckdb.DuckDBPyConnection) -> None:
    # A missing month: the moving range runs across it (10 -> 12), between non-null values.
    rows = chart(conn, {("nps", "a@x.com"): [10, None, 12, 10, 12, 10, 12, None]})[
        ("nps", "a@x.com")]
    # Points 1-7 have 0, 1, 1, 2, 3, 4, 5 values before them: fewer than 6, no limits.
    assert [r["baseline_points"] for r in rows] == [0, 1, 1, 2, 3, 4, 5, 6]
    for row in rows[:7]:
        assert row["centre"] is row["mr_bar"] is row["unpl"] is row["lnpl"] is None
        assert all(row[s] is None for s in SIGNALS)
    # Point 8 has no value but six before it: limits, and NULL signals (a month with no value
    # signals nothing, neither TRUE nor FALSE).
    last = rows[7]
    assert last["value"] is None
    assert last["centre"] == pytest.approx(66 / 6)
    assert last["mr_bar"] == pytest.approx(2.0)  # 2, 2, 2, 2, 2 (10 -> 12 across the gap)
    assert all(last[s] is None for s in SIGNALS)


def test_a_shift_of_eight_is_a_run(conn: duckdb.DuckDBPyConnection) -> None:
    rows = chart(conn, {("grr", "team"): [*BASE, *[11.5] * 8]})[("grr", "team")]
    # Each 11.5 is above its own centre, which creeps up as 11.5s enter the baseline:
    # point 13: (66 + 6 x 11.5) / 12 = 11.25; point 14 (Jan dropped): (56 + 7 x 11.5) / 12.
    assert rows[12]["centre"] == pytest.approx(135 / 12)
    assert rows[13]["centre"] == pytest.approx(136.5 / 12)
    # Point 14's baseline Feb-Jan: moving ranges 2, 2, 2, 2, 0.5 and six 0s inside it.
    assert rows[13]["mr_bar"] == pytest.approx(8.5 / 11)
    assert all(r["value"] > r["centre"] for r in rows[6:])
    # Points 7-14 are the first eight with a side: the run completes at point 14.
    assert fired(rows) == {"beyond_limits": [], "run_of_8": [14],
                           "two_of_three_beyond_2sigma": [], "four_of_five_beyond_1sigma": []}


def test_two_of_three_beyond_two_sigma(conn: duckdb.DuckDBPyConnection) -> None:
    rows = chart(conn, {("utilization", "team"): [*BASE, 15, 11, 16]})[
        ("utilization", "team")]
    # Point 7: centre 11, sigma 1.773: 15 > 14.55 (2 sigma) but < 16.32 (the limit).
    # Point 8: 11 is below its centre 81 / 7 = 11.57, within 1 sigma.
    # Point 9: centre 92 / 8 = 11.5, mr_bar (2+2+2+2+2+3+4) / 7 = 17 / 7, sigma 2.153:
    # 16 > 11.5 + 2 x 2.153 = 15.81, < the limit 11.5 + 2.66 x 17 / 7 = 17.96.
    assert rows[8]["centre"] == pytest.approx(11.5)
    assert rows[8]["mr_bar"] == pytest.approx(17 / 7)
    assert rows[8]["unpl"] == pytest.approx(11.5 + 2.66 * 17 / 7)
    assert fired(rows) == {"beyond_limits": [], "run_of_8": [],
                           "two_of_three_beyond_2sigma": [9], "four_of_five_beyond_1sigma": []}


def test_four_of_five_beyond_one_sigma(conn: duckdb.DuckDBPyConnection) -> None:
    rows = chart(conn, {("hours_per_account", "b@x.com"): [*BASE, 13, 13.5, 13.5, 13.5]})[
        ("hours_per_account", "b@x.com")]
    # Each is beyond 1 sigma of its own centre and within 2 sigma:
    #   point 7: 11 + 1.773 = 12.77 < 13 < 14.55
    #   point 8: 79/7 + (11/6)/1.128 = 12.91 < 13.5 < 14.54
    #   point 9: 92.5/8 + (11.5/7)/1.128 = 13.02 < 13.5 < 14.48
    #   point 10: 106/9 + (11.5/8)/1.128 = 13.05 < 13.5 < 14.33
    expected_sigma = [2 / 1.128, 11 / 6 / 1.128, 11.5 / 7 / 1.128, 11.5 / 8 / 1.128]
    for row, centre, sigma in zip(rows[6:], [11, 79 / 7, 92.5 / 8, 106 / 9], expected_sigma,
                                  strict=True):
        assert row["centre"] == pytest.approx(centre)
        assert row["sigma"] == pytest.approx(sigma)
        assert centre + sigma < row["value"] < centre + 2 * sigma
    # Point 10 completes four of five (points 6-10; point 6 had no limits).
    assert fired(rows) == {"beyond_limits": [], "run_of_8": [],
                           "two_of_three_beyond_2sigma": [], "four_of_five_beyond_1sigma": [10]}


def test_series_are_charted_apart_and_the_baseline_is_the_months_before(
        conn: duckdb.DuckDBPyConnection) -> None:
    charted = chart(conn, {("nrr", "team"): [*BASE, 17], ("nrr", "a@x.com"): [5] * 7,
                           ("grr", "team"): [*BASE, 11]}, baseline_months=3, min_points=3)
    # A 3-month baseline: point 7 of the first series sees 12, 10, 12 only.
    seventh = charted[("nrr", "team")][6]
    assert (seventh["baseline_points"], seventh["centre"]) == (3, pytest.approx(34 / 3))
    assert seventh["mr_bar"] == pytest.approx(2.0)
    assert charted[("grr", "team")][6]["beyond_limits"] is False
    flat = charted[("nrr", "a@x.com")]
    # A constant series: mr_bar 0, the limits on the centre, no signal for an equal value.
    assert flat[6]["unpl"] == flat[6]["lnpl"] == 5
    assert all(flat[6][s] is False for s in SIGNALS)


def test_limits_are_clipped_to_what_the_kpi_can_take(conn: duckdb.DuckDBPyConnection) -> None:
    swing = [100, -20, 100, -20, 100, -20]  # centre 40, moving ranges all 120
    charted = chart(conn, {("nps", "team"): [*swing, 100, -100],
                           ("grr", "team"): [1, 0.5, 1, 0.5, 1, 0.5, 1],
                           ("nrr", "team"): [1.5, 0.5, 1.5, 0.5, 1.5, 0.5, 5.0]},
                    bounds={"nps": (-100, 100), "grr": (0, 1), "nrr": (0, None)})
    nps = charted[("nps", "team")]
    # 40 +- 2.66 x 120 = [-279.2, 359.2], past what NPS can take: [-100, 100].
    assert (nps[6]["centre"], nps[6]["mr_bar"]) == (pytest.approx(40), pytest.approx(120))
    assert (nps[6]["unpl"], nps[6]["lnpl"]) == (100, -100)
    # A value on a clipped limit is not beyond it.
    assert nps[6]["beyond_limits"] is False
    assert nps[7]["lnpl"] == -100 and nps[7]["beyond_limits"] is False
    grr = charted[("grr", "team")][6]  # 0.75 +- 2.66 x 0.5 = [-0.58, 2.08]
    assert (grr["centre"], grr["unpl"], grr["lnpl"]) == (pytest.approx(0.75), 1, 0)
    nrr = charted[("nrr", "team")][6]  # 1 +- 2.66: NRR cannot be negative, but can pass 1
    assert (nrr["lnpl"], nrr["unpl"]) == (0, pytest.approx(3.66))
    assert nrr["beyond_limits"] is True  # 5.0 > 3.66


def test_kpi_control_team_utilization_counts_people_with_capacity_only() -> None:
    # a: 100 h of 160 every month. b's roster starts in month 3, but b tracked 40 h in months
    # 1 and 2 (capacity 0 then): those hours have no capacity to fill and add nothing.
    # `unassigned` (no capacity) holds 10 h on accounts.
    people = []
    for m in range(1, 9):
        people += [(m, "a", 100.0, 90.0, 160.0), (m, "unassigned", 10.0, 10.0, None),
                   (m, "b", 40.0, 30.0, 0.0) if m <= 2 else (m, "b", 80.0, 60.0, 160.0)]
    charted = kpi_control_rows(8, people, [(m, 10, 1.0, None, None) for m in range(1, 9)])
    utilization = [charted[("utilization", "team", m)]["value"] for m in range(1, 9)]
    assert utilization == [pytest.approx(100 / 160)] * 2 + [pytest.approx(180 / 320)] * 6
    # Hours per account is every CSM's hours on accounts over the customers, as before.
    assert charted[("hours_per_account", "team", 1)]["value"] == pytest.approx(130 / 10)
    assert charted[("utilization", "b", 1)]["value"] is None
    assert charted[("utilization", "a", 1)]["value"] == pytest.approx(100 / 160)


def test_only_complete_months_are_charted_or_in_a_baseline() -> None:
    # Eight steady months at 100/160, then an open ninth measured to its fifth day (10/160):
    # it must neither be charted nor fire a signal; a partial month neither.
    people = [(m, "a", 100.0, 90.0, 160.0) for m in range(1, 9)] + [(9, "a", 10.0, 9.0, 160.0)]
    team = [(m, 10, 1.0, None, None) for m in range(1, 10)]
    charted = kpi_control_rows(9, people, team, status={9: "open"})
    assert not [key for key in charted if key[2] == 9]
    assert all(row["beyond_limits"] is False for key, row in charted.items()
               if key[0] == "utilization" and row["unpl"] is not None)
    charted = kpi_control_rows(9, people, team, status={1: "partial", 9: "open"})
    assert not [key for key in charted if key[2] in (1, 9)]


def test_kpi_control_clips_each_kpi_and_a_month_without_value_signals_nothing() -> None:
    people = [(m, "a", 100.0, 90.0, 160.0) for m in range(1, 9)]
    # NPS swings 100 / -20 for six months, has no response in month 7, is 100 in month 8;
    # GRR swings 1 / 0.5.
    nps = [100, -20, 100, -20, 100, -20, None, 100]
    grr = [1, 0.5, 1, 0.5, 1, 0.5, 1, 0.5]
    charted = kpi_control_rows(8, people, [(m, 10, 1.0, nps[m - 1], grr[m - 1])
                                           for m in range(1, 9)])
    for m in (7, 8):
        row = charted[("nps", "team", m)]
        assert (row["centre"], row["unpl"], row["lnpl"]) == (pytest.approx(40), 100, -100)
    assert all(charted[("nps", "team", 7)][s] is None for s in SIGNALS)
    assert all(charted[("nps", "team", 8)][s] is False for s in SIGNALS)
    grr_7 = charted[("grr", "team", 7)]
    assert (grr_7["unpl"], grr_7["lnpl"]) == (1, 0)
    # Utilization has no upper bound: a's flat 0.625 has its limits on the centre.
    assert charted[("utilization", "a", 7)]["unpl"] == pytest.approx(0.625)


def test_the_signals_check_wants_null_signals_for_a_month_without_value(tmp_path: Path) -> None:
    from dagster import build_asset_check_context
    from dagster_duckdb import DuckDBResource

    from pipelines.metrics.checks import kpi_control_signals_only_with_limits as check

    database = tmp_path / "warehouse.duckdb"
    nps = [100, -20, 100, -20, 100, -20, None, 100]
    kpi_control_rows(8, [(m, "a", 100.0, 90.0, 160.0) for m in range(1, 9)],
                     [(m, 10, 1.0, nps[m - 1], 1.0) for m in range(1, 9)], str(database))
    resource = DuckDBResource(database=str(database))
    assert check(build_asset_check_context(), warehouse=resource).passed
    with duckdb.connect(str(database)) as conn:  # month 7 has limits but no NPS: a FALSE is wrong
        conn.execute("update marts.kpi_control set beyond_limits = false "
                     "where kpi = 'nps' and scope = 'team' and period_start = $p",
                     {"p": MONTHS[6]})
    result = check(build_asset_check_context(), warehouse=resource)
    assert not result.passed
    assert result.metadata["examples"].value == [f"nps team {MONTHS[6]}"]


def test_capacity_plan_of_a_hand_made_book() -> None:
    rows = capacity_rows(capacity_conn({}))
    assert set(rows) == {"enterprise", "smb", "all"}
    one_fte = 8 * 21 * 0.6  # March 2025 has 21 weekdays: 100.8 account hours per FTE
    enterprise, smb, every = rows["enterprise"], rows["smb"], rows["all"]
    assert (enterprise["customers"], enterprise["account_hours"]) == (2, 16.0)
    assert (smb["customers"], smb["account_hours"]) == (2, 2.0)  # c1 churned: not counted
    assert (every["customers"], every["account_hours"]) == (4, 18.0)
    assert enterprise["hours_per_customer"] == pytest.approx(8.0)
    assert smb["hours_per_customer"] == pytest.approx(1.0)
    assert every["hours_per_customer"] == pytest.approx(4.5)
    assert enterprise["fte_needed"] == pytest.approx(16 / one_fte)
    assert every["fte_needed"] == pytest.approx(18 / one_fte)  # 0.179
    # alice 21 of 31 days at FTE 1, bob 0.5 (on the roster, no book), carol 1; dave is gone.
    assert every["fte_available"] == pytest.approx(21 / 31 + 0.5 + 1.0)
    # alice's and carol's capacity as csm_period_metrics has it; bob's 0.5 x 8 h x 21 days.
    assert every["capacity_hours"] == pytest.approx(112 + 168 + 84)
    assert every["fte_headroom"] == pytest.approx(21 / 31 + 1.5 - 18 / one_fte)
    for segment in (enterprise, smb):
        assert segment["capacity_hours"] is segment["fte_available"] is None
        assert segment["fte_headroom"] is None
        assert segment["planned_customers"] is segment["fte_needed_planned"] is None
    assert every["planned_customers"] is every["fte_needed_planned"] is None
    # The trailing 12 months: February and March rows (22 h over 6 customer-months).
    assert every["hours_per_customer_12m"] == pytest.approx(22 / 6)


def test_capacity_plan_with_a_planned_book() -> None:
    rows = capacity_rows(capacity_conn({"enterprise": 3, "smb": 5}))
    one_fte = 8 * 21 * 0.6
    # Enterprise: 4 + 16 h over 1 + 2 customer-months = 20/3 h a month; smb 2 h over 3.
    assert rows["enterprise"]["hours_per_customer_12m"] == pytest.approx(20 / 3)
    assert rows["smb"]["hours_per_customer_12m"] == pytest.approx(2 / 3)
    assert rows["enterprise"]["fte_needed_planned"] == pytest.approx(3 * 20 / 3 / one_fte)
    assert rows["smb"]["fte_needed_planned"] == pytest.approx(5 * 2 / 3 / one_fte)
    assert rows["all"]["planned_customers"] == 8
    assert rows["all"]["fte_needed_planned"] == pytest.approx((20 + 10 / 3) / one_fte)
    # A planned segment with no history: its row has no estimate, and neither has the total.
    rows = capacity_rows(capacity_conn({"enterprise": 3, "strategic": 2}))
    assert rows["strategic"]["customers"] == 0
    assert rows["strategic"]["planned_customers"] == 2
    assert rows["strategic"]["fte_needed_planned"] is None
    assert rows["all"]["fte_needed_planned"] is None


def test_capacity_plan_prorates_fte_over_a_quarter() -> None:
    rows = capacity_rows(capacity_conn({}), grain="quarter")
    # Q1 2025 has 90 days: alice is employed 21 of them; bob is on the roster; carol and
    # dave have no quarter row in csm_period_metrics here.
    assert rows["all"]["fte_available"] == pytest.approx(21 / 90 + 0.5)
    assert rows["all"]["customers"] == 0  # no quarter rows in this hand-made book


def test_regression_recovers_a_known_effect_and_is_reproducible() -> None:
    units = generated_units()
    drivers = {d.input: d for d in fit_drivers(units, ["hours_per_month", "touchpoints"])}
    hours, noise = drivers["hours_per_month"], drivers["touchpoints"]
    assert hours.n == noise.n == 5000
    assert abs(hours.coefficient - 1.0) < 0.15
    assert hours.odds_ratio_per_sd == pytest.approx(np.exp(hours.coefficient))
    assert hours.p_value < 1e-6 and hours.std_error > 0
    assert noise.p_value > 0.01
    assert hours.churn_rate_top_quartile > hours.churn_rate_bottom_quartile
    assert (hours.first_quarter, hours.last_quarter) == (date(2024, 1, 1), date(2024, 10, 1))
    assert hours.note is None and noise.note is None
    # The same units, in another order, give the same rows.
    again = fit_drivers(units.sample(frac=1.0, random_state=7),
                        ["hours_per_month", "touchpoints"])
    assert again == list(drivers.values())


def test_missing_values_enter_at_the_mean_with_an_indicator() -> None:
    units = generated_units()
    units.loc[units.index % 5 == 0, "touchpoints"] = np.nan
    drivers = {d.input: d for d in fit_drivers(units, ["hours_per_month", "touchpoints"])}
    assert drivers["touchpoints"].n == 4000
    assert "1000 of 5000 units have no value" in drivers["touchpoints"].note
    assert abs(drivers["hours_per_month"].coefficient - 1.0) < 0.15


def test_a_missing_group_that_never_churns_is_left_out_not_a_failed_fit() -> None:
    """The demo's failure: the accounts of `unassigned` (no owner inputs) all renewed, so their
    missing-value indicator separates churn and its estimate runs to minus infinity. The other
    inputs are still estimable: their limit is the fit without those units."""
    units = generated_units()
    units["owner_accounts_managed"] = np.random.default_rng(3).poisson(10.0, len(units))
    units["owner_utilization"] = np.random.default_rng(4).normal(0.7, 0.1, len(units))
    unowned = units.index % 20 == 0
    units.loc[unowned, ["owner_accounts_managed", "owner_utilization"]] = np.nan
    units.loc[unowned, "churned"] = False
    inputs = ["hours_per_month", "touchpoints", "owner_accounts_managed", "owner_utilization"]
    drivers = {d.input: d for d in fit_drivers(units, inputs)}
    assert all(d.coefficient is not None and d.std_error > 0 for d in drivers.values())
    assert abs(drivers["hours_per_month"].coefficient - 1.0) < 0.15
    assert drivers["touchpoints"].p_value > 0.01
    owner = drivers["owner_accounts_managed"]
    assert owner.n == 4750 and "250 of 5000 units have no value" in owner.note
    assert "left out of the fit" in owner.note and "none of them churned" in owner.note
    assert "fitted on 4750 of 5000 units" in drivers["hours_per_month"].note
    # The estimates are the fit on the other units, with the inputs on the same scale.
    kept = units[~unowned].copy()
    for name in inputs:
        column = units[name]
        kept[name] = (kept[name] - column.mean()) / column.std()
    direct = sm.Logit(kept["churned"].astype(float), sm.add_constant(kept[inputs])).fit(disp=0)
    for name in inputs:
        assert drivers[name].coefficient == pytest.approx(direct.params[name], abs=1e-6)
        assert drivers[name].std_error == pytest.approx(direct.bse[name], rel=1e-4)
    assert fit_drivers(units.sample(frac=1.0, random_state=7), inputs) == list(
        drivers.values())

    # The demo's shape: ~670 units, 16 churned, seven inputs, three of them partly missing.
    rng = np.random.default_rng(20261201)
    small = generated_units(674, seed=11)
    small["churned"] = False
    small["nps_score"] = rng.normal(7.7, 2.3, 674)
    small["days_since_last_touch"] = rng.exponential(21.0, 674)
    small["onboarding_hours"] = np.where(rng.random(674) < 0.4, rng.gamma(2.0, 5.0, 674),
                                         np.nan)
    small["owner_accounts_managed"] = rng.poisson(10.0, 674).astype(float)
    small["owner_utilization"] = rng.normal(0.68, 0.1, 674)
    small.loc[rng.random(674) < 0.4, "nps_score"] = np.nan
    risk = -3.9 - 0.8 * (small["nps_score"].fillna(7.7) - 7.7) / 2.3
    small["churned"] = rng.random(674) < 1 / (1 + np.exp(-risk))
    small.loc[small.index % 19 == 0, ["owner_accounts_managed", "owner_utilization"]] = np.nan
    small.loc[small.index % 19 == 0, "churned"] = False
    every = ["hours_per_month", "touchpoints", "days_since_last_touch", "nps_score",
             "onboarding_hours", "owner_accounts_managed", "owner_utilization"]
    assert small["churned"].sum() >= 10
    rows = fit_drivers(small, every)
    assert all(r.coefficient is not None and np.isfinite(r.std_error) for r in rows), [
        r.note for r in rows]


def test_a_duplicate_or_near_constant_input_is_not_fitted_and_the_rest_are() -> None:
    units = generated_units()
    units["nps_score"] = 7.0 + 1e-13 * (units.index % 2)  # constant but for rounding
    units["onboarding_hours"] = 2.0 * units["hours_per_month"] + 1.0  # the same input again
    # Only ever measured on accounts that renewed: nothing to estimate it from.
    units["days_since_last_touch"] = np.where(~units["churned"] & (units.index % 3 == 0),
                                              units.index % 40, np.nan)
    drivers = {d.input: d for d in fit_drivers(
        units, ["hours_per_month", "nps_score", "onboarding_hours", "days_since_last_touch"])}
    unmeasured = drivers["days_since_last_touch"]
    assert unmeasured.coefficient is None and "every unit with a value retained" in (
        unmeasured.note)
    assert drivers["nps_score"].coefficient is None and "constant" in drivers["nps_score"].note
    same = drivers["onboarding_hours"]
    assert same.coefficient is None and "collinear" in same.note and same.n == 5000
    assert abs(drivers["hours_per_month"].coefficient - 1.0) < 0.15


def test_degenerate_inputs_give_nulls_and_a_note() -> None:
    units = generated_units()
    units["nps_score"] = 7.0  # constant
    drivers = {d.input: d for d in fit_drivers(
        units, ["hours_per_month", "nps_score", "days_since_last_touch"])}
    constant, absent = drivers["nps_score"], drivers["days_since_last_touch"]
    assert constant.coefficient is None and "constant" in constant.note
    assert constant.churn_rate_top_quartile is None
    assert absent.coefficient is None and absent.n == 0 and "not in the marts" in absent.note
    assert drivers["hours_per_month"].coefficient is not None  # the others are still fitted

    few = fit_drivers(generated_units(30), ["hours_per_month", "touchpoints"])
    assert all(d.coefficient is None and d.p_value is None for d in few)
    assert all("too few units" in d.note for d in few)

    separated = generated_units()
    separated["churned"] = separated["hours_per_month"] > 6.0
    rows = fit_drivers(separated, ["hours_per_month", "touchpoints"])
    assert all(d.coefficient is None and d.std_error is None for d in rows)
    assert all("separat" in d.note for d in rows)
    assert rows[0].churn_rate_top_quartile == 1.0 and rows[0].churn_rate_bottom_quartile == 0.0
