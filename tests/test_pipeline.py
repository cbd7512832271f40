"""The whole Dagster graph on the sandbox company, for a range of months, into a tmp DuckDB."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from sandbox.company import Company
from sandbox.servers import Sandbox
from tests.conftest import point_at, read_rows, run_pipeline
from tests.session_helpers import shared_build

MOVEMENTS = ("starting_arr", "new_arr", "reactivation_arr", "expansion_arr", "contraction_arr",
             "churned_arr")
LINEAGE = {"as_of", "loaded_at", "run_id"}


@pytest.fixture(scope="module")
def warehouse(demo_company: Company, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company's January to June, built once per session however many xdist workers
    run this module's tests (tests/session_helpers.py); each process reads its own copy."""
    def build(folder: Path) -> None:
        with Sandbox(demo_company).start(str(folder)) as sandbox, \
                pytest.MonkeyPatch.context() as monkeypatch:
            point_at(monkeypatch, sandbox, folder / "warehouse.duckdb")
            run_pipeline("2025-01-01", "2025-06-01", bi=False)
    return shared_build("demo_months", build, tmp_path_factory) / "warehouse.duckdb"


def marts(path: Path, grain: str = "month") -> dict[str, list[dict]]:
    return {table: [{k: v for k, v in row.items() if k not in LINEAGE}
                    for row in read_rows(path, f"select * from marts.{table} "
                                         "where period_grain = $g order by all", {"g": grain})]
            for table in ("csm_period_metrics", "team_period_metrics", "account_period_metrics",
                          "csm_activity_hours")}


def test_every_month_of_the_range_has_a_team_row(warehouse: Path) -> None:
    team = marts(warehouse)["team_period_metrics"]
    assert [str(r["period_start"]) for r in team] == [
        "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01"]
    assert all(r["period_grain"] == "month" for r in team)
    # The sandbox exercises every movement somewhere in the range.
    for movement in MOVEMENTS:
        assert any(r[movement] > 0 for r in team), movement


def test_the_waterfall_closes_and_months_chain(warehouse: Path) -> None:
    team = marts(warehouse)["team_period_metrics"]
    for row in team:
        assert row["total_arr"] == (row["starting_arr"] + row["new_arr"] + row["reactivation_arr"]
                                    + row["expansion_arr"] - row["contraction_arr"]
                                    - row["churned_arr"])
    for before, after in pairwise(team):
        assert before["total_arr"] == after["starting_arr"]


def test_per_csm_figures_add_up_to_the_team(warehouse: Path) -> None:
    tables = marts(warehouse)
    sums: dict[object, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in tables["csm_period_metrics"]:
        for movement in (*MOVEMENTS, "arr_managed"):
            sums[row["period_start"]][movement] += row[movement]
        sums[row["period_start"]]["accounts_managed"] += row["accounts_managed"]
    for team in tables["team_period_metrics"]:
        csm = sums[team["period_start"]]
        assert {m: csm[m] for m in MOVEMENTS} == {m: team[m] for m in MOVEMENTS}
        assert csm["arr_managed"] == team["total_arr"]
        assert csm["accounts_managed"] == team["customer_count"]


def test_csm_count_and_unassigned(warehouse: Path) -> None:
    rows = marts(warehouse)["csm_period_metrics"]
    by_month: dict[object, list[dict]] = defaultdict(list)
    for row in rows:
        by_month[row["period_start"]].append(row)
    team = {r["period_start"]: r for r in marts(warehouse)["team_period_metrics"]}
    for month, people in by_month.items():
        with_book = [p for p in people if p["accounts_managed"] > 0 and p["csm_id"] != "unassigned"]
        assert team[month]["csm_count"] == len(with_book)
        assert any(p["csm_id"] == "unassigned" for p in people)
        # The engineer who shares the Toggl workspace is not a CSM.
        assert not any(p["csm_id"] == "sam.engineer@example.com" for p in people)


def test_a_rerun_gives_identical_marts_and_no_duplicates(
        warehouse: Path, demo_sandbox: Sandbox) -> None:
    before = {grain: marts(warehouse, grain) for grain in ("month", "quarter", "year")}
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, demo_sandbox, warehouse)
        # A second backfill over part of the range.
        run_pipeline("2025-03-01", "2025-04-01", bi=False)
    assert {grain: marts(warehouse, grain) for grain in ("month", "quarter", "year")} == before
    runs = read_rows(warehouse, "select period_start, count(*) as n from marts.team_period_metrics "
                     "where period_grain = 'month' group by all order by all")
    assert [r["n"] for r in runs] == [1, 1, 1, 1, 1, 1]
    raw = read_rows(warehouse, "select count(*) as n, count(distinct _pk) as keys "
                    "from raw.toggl__time_entries")[0]
    assert raw["n"] == raw["keys"] > 0
