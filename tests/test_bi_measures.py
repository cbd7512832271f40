"""BI that cannot be misread (docs/bi.md): explores always filter the grain and status, balances
total only within one period, ratios roll up from their components. Written against a columns
declaration that has `period_status`, run on a real PostgreSQL (the LookML's dialect)."""

from __future__ import annotations

import re
from decimal import Decimal

import lkml
import pytest

from tests.pg_server import Target
from warehouse.bi_files import (
    lookml_view,
)
from warehouse.columns import mart_docs

REF = re.compile(r"\$\{(\w+)\}")
LEAD_TABLES = ("csm_period_metrics", "team_period_metrics", "account_period_metrics",
               "csm_activity_hours", "churn_reasons", "capacity_plan")

# csm_period_metrics as the periods change declares it (issue 20): period_status included.
CSM_COLUMNS = [
    ("period_grain", "VARCHAR"), ("period_start", "DATE"), ("period_end", "DATE"),
    ("period_status", "VARCHAR"), ("csm_id", "VARCHAR"), ("accounts_managed", "BIGINT"),
    ("arr_managed", "DECIMAL(18,2)"), ("accounts_at_start", "BIGINT"),
    ("starting_arr", "DECIMAL(18,2)"), ("expansion_arr", "DECIMAL(18,2)"),
    ("contraction_arr", "DECIMAL(18,2)"), ("churned_arr", "DECIMAL(18,2)"),
    ("accounts_churned", "BIGINT"), ("net_retained_arr", "DECIMAL(18,2)"), ("nrr", "DOUBLE"),
    ("hours_worked", "DOUBLE"), ("capacity_hours", "DOUBLE"), ("utilization", "DOUBLE"),
    ("accounts_touched", "BIGINT"), ("touch_coverage", "DOUBLE")]
PG_TYPES = {"VARCHAR": "text", "DATE": "date", "BIGINT": "bigint",
            "DECIMAL(18,2)": "numeric(18,2)", "DOUBLE": "double precision"}


def described(columns: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    docs = mart_docs()["csm_period_metrics"].columns
    return [(name, kind, docs.get(name, name)) for name, kind in columns]


@pytest.fixture(scope="module")
def view() -> dict:
    text = lookml_view("csm_period_metrics", described(CSM_COLUMNS))
    return lkml.load(text)["views"][0]


def measures_referencing(view: dict, name: str) -> list[dict]:
    return [m for m in view["measures"] if name in REF.findall(m.get("sql", ""))]


def compile_measure(view: dict, name: str) -> str:
    """A measure as Looker writes it on one table (no fan-out): sums, distinct counts and
    numbers over the view's fields."""
    fields = {f["name"]: f for f in [*view["dimensions"], *view["measures"]]}

    def expand(sql: str) -> str:
        sql = sql.replace("${TABLE}", "t")
        return REF.sub(lambda m: f"({render(m.group(1))})", sql)

    def render(field: str) -> str:
        f = fields[field]
        inner = expand(f["sql"])
        return {"sum": f"COALESCE(SUM({inner}), 0)", "count_distinct": f"COUNT(DISTINCT {inner})",
                }.get(f["type"], inner)

    return render(name)


# Hand-made rows: (grain, start, status, csm, accounts_managed, arr_managed, accounts_at_start,
# starting, expansion, contraction, churned, accounts_churned, hours, capacity, touched).
ROWS = [
    ("month", "2025-01-01", "complete", "ann", 4, "120000", 5, "100000", "10000", "0", "20000",
     1, 150.0, 160.0, 3),
    ("month", "2025-01-01", "complete", "bob", 6, "220000", 6, "200000", "30000", "10000", "0",
     0, 100.0, 168.0, 6),
    # No starting book: no NRR of its own, nothing in the roll-up's denominator.
    ("month", "2025-01-01", "complete", "unassigned", 1, "5000", 0, "0", "0", "0", "0", 0,
     None, None, 0),
    # A CSM whose hours were never pulled: no utilization, so none of her capacity counts.
    ("month", "2025-01-01", "complete", "cat", 2, "40000", 2, "40000", "0", "0", "0", 0,
     None, 168.0, 1),
    ("month", "2025-02-01", "complete", "ann", 4, "130000", 4, "120000", "10000", "0", "0",
     0, 140.0, 152.0, 4),
]


def load_rows(target: Target) -> None:
    with target.admin() as admin:
        admin.execute("create schema marts")
        columns = ", ".join(f'"{n}" {PG_TYPES[k]}' for n, k in CSM_COLUMNS)
        admin.execute(f"create table marts.csm_period_metrics ({columns})")
        for (grain, start, status, csm, managed, arr, at_start, starting, expansion,
             contraction, churned, lost, hours, capacity, touched) in ROWS:
            net = Decimal(starting) + Decimal(expansion) - Decimal(contraction) - Decimal(churned)
            admin.execute(
                "insert into marts.csm_period_metrics values (%s, %s, %s::date + interval "
                "'1 month', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, null, %s, %s, null, "
                "%s, null)",
                (grain, start, start, status, csm, managed, arr, at_start, starting, expansion,
                 contraction, churned, lost, net, hours, capacity, touched))


def query(target: Target, view: dict, measures: list[str], where: str) -> list[tuple]:
    select = ", ".join(compile_measure(view, m) for m in measures)
    with target.admin() as admin:
        return admin.execute(f"select {select} from marts.csm_period_metrics as t where {where}"
                             ).fetchall()


def test_nrr_and_the_other_ratios_roll_up_from_their_components(view: dict,
                                                                pg_target: Target) -> None:
    load_rows(pg_target)
    [row] = query(pg_target, view, ["nrr_rollup", "grr_rollup", "logo_retention_rollup",
                                    "utilization_rollup", "touch_coverage_rollup",
                                    "total_arr_managed"],
                  "t.period_grain = 'month' and t.period_start = '2025-01-01'")
    nrr, grr, logos, utilization, coverage, arr = row
    # NRR: (100,000 + 10,000 - 20,000) + (200,000 + 30,000 - 10,000) + 40,000 = 350,000 over
    # 340,000 of starting ARR (unassigned starts at 0), 1.0294; the mean of the CSMs' NRRs,
    # (0.9 + 1.1 + 1) / 3 = 1, is what an explore averaging the nrr column would show.
    assert nrr == pytest.approx(350_000 / 340_000)
    assert grr == pytest.approx((80_000 + 190_000 + 40_000) / 340_000)  # 0.9118
    assert logos == pytest.approx((4 + 6 + 2) / 13)  # 5 - 1, 6 - 0, 2 - 0 of 5 + 6 + 2
    assert utilization == pytest.approx(250 / 328)  # cat's 168 h without hours left out
    assert coverage == pytest.approx((3 + 6 + 0 + 1) / 13)
    assert arr == Decimal("385000.00")  # the team's ARR on 1 February, one period


def test_balances_and_one_period_ratios_are_null_across_periods(view: dict,
                                                               pg_target: Target) -> None:
    load_rows(pg_target)
    [row] = query(pg_target, view, ["total_arr_managed", "nrr_rollup", "total_hours_worked",
                                    "utilization_rollup"], "t.csm_id = 'ann'")
    # Ann's two months: 250,000 of "ARR managed" is no balance she ever had.
    assert row[0] is None and row[1] is None
    assert row[2] == pytest.approx(290.0)  # hours add up across the months of one grain
    assert row[3] == pytest.approx(290 / 312)
    with pg_target.admin() as admin:
        admin.execute("insert into marts.csm_period_metrics (period_grain, period_start, "
                      "period_status, csm_id, hours_worked, capacity_hours) values "
                      "('quarter', '2025-01-01', 'open', 'ann', 290, 312)")
    [row] = query(pg_target, view, ["total_hours_worked", "utilization_rollup"],
                  "t.csm_id = 'ann'")
    assert row == (None, None)  # a quarter holds its months: never added to them


