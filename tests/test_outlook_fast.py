"""Looking ahead on hand-made inputs in in-memory DuckDB (the fast tier); the tiny build's
readers are in test_outlook.py.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import Settings
from tests.test_outlook import (
    ALICE,
    AS_OF,
    BOB,
    INPUT_ROWS,
    INPUTS,
    band,
    build,
    by_hand,
    rows,
    units,
    weekdays,
)
from warehouse.drivers import fit_retention

pytestmark = pytest.mark.fast


def test_renewal_events_and_the_current_book() -> None:
    frame = units()
    conn = build(fit_retention(frame, INPUTS))
    renewals = rows(conn, "select account_id, csm_id, renewal_date, days_to_renewal, "
                          "arr_lapsing, arr_now, segment from marts.renewals "
                          "order by renewal_date")
    assert [(r["account_id"], r["csm_id"], r["renewal_date"], r["days_to_renewal"],
             r["arr_lapsing"], r["arr_now"]) for r in renewals] == [
        ("sf:A1", ALICE, date(2025, 7, 1), 16, Decimal("12000.00"), Decimal("18000.00")),
        ("sf:A3", BOB, date(2025, 8, 1), 47, Decimal("6000.00"), Decimal("10000.00")),
        ("sf:A7", BOB, date(2025, 9, 13), 90, Decimal("2000.00"), Decimal("2000.00")),
        ("hs:4", "unassigned", date(2025, 12, 1), 169, Decimal("5000.00"),
         Decimal("5000.00")),
        ("sf:A1", ALICE, date(2026, 1, 1), 200, Decimal("6000.00"), Decimal("18000.00"))]
    assert {r["segment"] for r in renewals} == {"smb"}
    risk = {r["account_id"]: r for r in rows(conn, "select * from marts.account_risk")}
    assert sorted(risk) == ["hs:4", "sf:A1", "sf:A2", "sf:A3", "sf:A7"]  # A5, A6: no ARR now
    assert risk["sf:A2"]["segment"] == "mid_market"
    assert {a: r["next_renewal_date"] for a, r in risk.items()} == {
        "sf:A1": date(2025, 7, 1), "sf:A2": date(2026, 9, 1), "sf:A3": date(2025, 8, 1),
        "hs:4": date(2025, 12, 1), "sf:A7": date(2025, 9, 13)}
    for account, inputs in INPUT_ROWS.items():
        for name, value in inputs.items():
            assert risk[account][name] == (None if value is None else pytest.approx(value))
    assert risk["sf:A1"]["nps_score"] == pytest.approx(7.0)  # 9 and 5; the rest out
    assert risk["sf:A3"]["nps_score"] is None
    assert risk["sf:A3"]["onboarding_hours"] == pytest.approx(4.0)
    assert risk["sf:A2"]["onboarding_hours"] is None  # onboarded over a year before
    assert risk["sf:A1"]["onboarding_hours"] == 0.0
    assert risk["sf:A1"]["last_touch_at"] == datetime(2025, 6, 10, 12, tzinfo=UTC)
    # Owners now: alice holds A1 and A2, bob A3 and A7; unassigned has no owner inputs.
    alice = 40 / (8 * weekdays("2025-03-15", "2025-06-16") - 8)  # 40 h worked, 8 h leave
    bob = 4 / (0.5 * 8 * weekdays("2025-04-01", "2025-06-16"))  # from his start date
    assert risk["sf:A1"]["owner_utilization"] == pytest.approx(alice)
    assert risk["sf:A7"]["owner_utilization"] == pytest.approx(bob)
    assert risk["sf:A7"]["owner_accounts_managed"] == 2.0
    assert risk["hs:4"]["owner_accounts_managed"] is None
    assert risk["hs:4"]["owner_utilization"] is None
    assert rows(conn, "select distinct as_of from marts.renewals")[0]["as_of"] == AS_OF


def test_churn_probabilities_are_the_fitted_logistic_and_bands_its_multiples() -> None:
    frame = units()
    fitted = fit_retention(frame, INPUTS)
    conn = build(fitted)
    expected = by_hand(frame, INPUT_ROWS)
    rate = float(frame["churned"].mean())
    risk = {r["account_id"]: r for r in rows(conn, "select * from marts.account_risk")}
    for account, probability in expected.items():
        assert risk[account]["churn_probability"] == pytest.approx(probability, rel=1e-6)
        assert risk[account]["fit_churn_rate"] == pytest.approx(rate)
        assert risk[account]["risk_band"] == band(probability, rate)
        assert risk[account]["risk_note"] is None
    # The renewals carry the account's figures.
    for r in rows(conn, "select * from marts.renewals"):
        assert r["churn_probability"] == pytest.approx(expected[r["account_id"]], rel=1e-6)
        assert r["risk_band"] == band(expected[r["account_id"]], rate)
    # The three bands, as the numbers fall: A1 (many hours) high, hs:4 (never touched) medium.
    assert {a: r["risk_band"] for a, r in risk.items()} == {
        "sf:A1": "high", "hs:4": "medium", "sf:A2": "low", "sf:A3": "low", "sf:A7": "low"}
    # A higher ratio moves the high threshold past A1.
    ratio = 3.0
    stricter = build(fitted, settings=Settings(risk_high_ratio=ratio))
    assert {r["account_id"]: r["risk_band"] for r in rows(
        stricter, "select * from marts.account_risk")} == {
        a: band(p, rate, ratio) for a, p in expected.items()}
    assert band(expected["sf:A1"], rate, ratio) == "medium"


def test_the_outlook_per_csm_and_the_team_row() -> None:
    frame = units()
    conn = build(fit_retention(frame, INPUTS))
    expected = by_hand(frame, INPUT_ROWS)
    rate = float(frame["churned"].mean())
    owners = {"sf:A1": ALICE, "sf:A2": ALICE, "sf:A3": BOB, "sf:A7": BOB, "hs:4": "unassigned"}
    arr = {"sf:A1": 18000, "sf:A2": 30000, "sf:A3": 10000, "sf:A7": 2000, "hs:4": 5000}
    touched = {"sf:A1": True, "sf:A2": True, "sf:A3": False, "sf:A7": True, "hs:4": False}
    high = {a for a, p in expected.items() if band(p, rate) == "high"}
    outlook = {r["csm_id"]: r for r in rows(conn, "select * from marts.csm_outlook")}
    assert sorted(outlook) == sorted([ALICE, BOB, "unassigned", "team"])
    renewing = {  # (accounts, arr, 90 d, 180 d, accounts in 90 d, untouched in 90 d)
        ALICE: (2, 48000, 12000, 12000, 1, 0), BOB: (2, 12000, 8000, 8000, 2, 1),
        "unassigned": (1, 5000, 0, 5000, 0, 0), "team": (5, 65000, 20000, 25000, 3, 1)}
    for csm, (accounts, managed, d90, d180, n90, untouched) in renewing.items():
        row = outlook[csm]
        assert (row["accounts_managed"], row["arr_managed"], row["arr_renewing_90d"],
                row["arr_renewing_180d"], row["accounts_renewing_90d"],
                row["renewing_90d_untouched_30d"]) == (
            accounts, managed, d90, d180, n90, untouched)
        mine = [a for a in high if csm == "team" or owners[a] == csm]
        assert row["high_risk_accounts"] == len(mine)
        assert row["high_risk_arr"] == sum(arr[a] for a in mine)
        assert row["high_risk_touched_30d"] == (
            pytest.approx(sum(touched[a] for a in mine) / len(mine)) if mine else None)
        assert row["as_of"] == AS_OF


def test_missing_hours_enter_at_the_mean_and_no_model_means_unknown() -> None:
    frame = units()
    # March without its time entries: the hour inputs are unknown, as in a partial quarter.
    conn = build(fit_retention(frame, INPUTS), march=False)
    risk = {r["account_id"]: r for r in rows(conn, "select * from marts.account_risk")}
    assert all(r["hours_per_month"] is None and r["owner_utilization"] is None
               for r in risk.values())
    # No unit of the fit lacked hours: the missing value enters at the mean, no indicator.
    mean = float(frame["hours_per_month"].mean())
    expected = by_hand(frame, {a: {**v, "hours_per_month": mean}
                               for a, v in INPUT_ROWS.items()})
    for account, probability in expected.items():
        assert risk[account]["churn_probability"] == pytest.approx(probability, rel=1e-6)
    # Too few units: no model, every band unknown with the reason, the rest still built.
    few = fit_retention(frame.head(20), INPUTS)
    assert few.model is None
    conn = build(few)
    risk = rows(conn, "select * from marts.account_risk")
    assert len(risk) == 5
    assert all(r["churn_probability"] is None and r["risk_band"] == "unknown"
               and r["risk_note"].startswith("no model: too few units") for r in risk)
    team = rows(conn, "select * from marts.csm_outlook where csm_id = 'team'")[0]
    assert team["high_risk_accounts"] == 0 and team["high_risk_touched_30d"] is None
    assert team["arr_renewing_90d"] == 20000


def test_the_outlook_checks_pass_and_name_broken_rows(tmp_path: Path) -> None:
    from dagster import build_asset_check_context
    from dagster_duckdb import DuckDBResource

    from pipelines.metrics.checks import (
        churn_probabilities_in_range,
        csm_outlook_team_is_the_sum,
        renewals_sum_to_outlook,
    )

    database = tmp_path / "warehouse.duckdb"
    build(fit_retention(units(), INPUTS), database=str(database)).close()
    resource = DuckDBResource(database=str(database))
    checks = (csm_outlook_team_is_the_sum, renewals_sum_to_outlook,
              churn_probabilities_in_range)
    assert [c(build_asset_check_context(), warehouse=resource).passed for c in checks] == [
        True, True, True]
    broken = tmp_path / "broken.duckdb"
    for fault, failing in [
        ("update marts.csm_outlook set high_risk_arr = high_risk_arr + 1 "
         "where csm_id = 'team'", (False, True, True)),
        ("delete from marts.csm_outlook where csm_id = 'team'", (False, False, True)),
        ("update marts.renewals set arr_lapsing = 2500 where account_id = 'sf:A7'",
         (True, False, True)),
        ("update marts.renewals set days_to_renewal = 91 where account_id = 'sf:A7'",
         (True, False, True)),
        ("update marts.account_risk set churn_probability = 1.5 "
         "where account_id = 'sf:A2'", (True, True, False)),
        ("update marts.renewals set risk_band = 'unknown' where account_id = 'sf:A1'",
         (True, True, False)),
    ]:
        shutil.copy(database, broken)
        with duckdb.connect(str(broken)) as conn:
            conn.execute(fault)
        resource = DuckDBResource(database=str(broken))
        results = [c(build_asset_check_context(), warehouse=resource) for c in checks]
        assert tuple(r.passed for r in results) == failing, fault
