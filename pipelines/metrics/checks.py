"""Checks on the marts: keys and the invariants of docs/metrics.md. Each names the failing rows.

The key, waterfall and sum checks are blocking: when one fails, the run fails and nothing
downstream of the marts (the published DuckDB copy, the Hyper extract, PostgreSQL) is
written, so BI keeps the last good version. The step's failure names the check; its log and
metadata name the offending keys.
"""


from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)
from dagster_duckdb import DuckDBResource

from pipelines.metrics.assets import (
    ACCOUNT_PERIOD_METRICS,
    CSM_ACTIVITY_HOURS,
    CSM_PERIOD_METRICS,
    TEAM_PERIOD_METRICS,
)
from pipelines.resources import WAREHOUSE_POOL

MOVEMENTS = ("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr",
             "starting_arr")


def _failures(warehouse: DuckDBResource, sql: str) -> list[str]:
    with warehouse.get_connection() as conn:
        return [" ".join(str(v) for v in row) for row in conn.execute(sql).fetchall()]


def _result(context: AssetCheckExecutionContext, failing: list[str]) -> AssetCheckResult:
    """A blocking result; a failure also goes to the run's log, with the offending keys."""
    if failing:
        context.log.error(f"{context.check_specs[0].name} failed on {len(failing)} row(s), "
                          f"nothing will be published: {'; '.join(failing[:20])}")
    return AssetCheckResult(passed=not failing, severity=AssetCheckSeverity.ERROR,
                            metadata={"failing_rows": len(failing), "examples": failing[:20]})


def keys_unique(asset: AssetKey, keys: tuple[str, ...]) -> Any:
    """A check that no two rows of a mart share its key."""
    table = ".".join(asset.path)

    @asset_check(asset=asset, name=f"{asset.path[-1]}_keys_unique", blocking=True,
                 pool=WAREHOUSE_POOL,
                 description=f"One row per ({', '.join(keys)}).")
    def _check(context: AssetCheckExecutionContext,
               warehouse: DuckDBResource) -> AssetCheckResult:
        return _result(context, _failures(warehouse, f"select {', '.join(keys)} from {table} "
                                 "group by all having count(*) > 1"))

    return _check


PERIOD = ("period_grain", "period_start")
KEY_CHECKS = [
    keys_unique(CSM_PERIOD_METRICS, (*PERIOD, "csm_id")),
    keys_unique(TEAM_PERIOD_METRICS, PERIOD),
    keys_unique(ACCOUNT_PERIOD_METRICS, (*PERIOD, "account_id")),
    keys_unique(CSM_ACTIVITY_HOURS, (*PERIOD, "csm_id", "activity")),
]


@asset_check(asset=ACCOUNT_PERIOD_METRICS, blocking=True, pool=WAREHOUSE_POOL,
             description="Every account's waterfall closes: ending ARR = starting + its "
                         "movements (docs/metrics.md, ARR movements).")
def account_waterfall_closes(context: AssetCheckExecutionContext,
                             warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(context, _failures(warehouse, """
        select period_grain, period_start, account_id from marts.account_period_metrics
        where ending_arr <> starting_arr + new_arr + reactivation_arr + expansion_arr
                            - contraction_arr - churned_arr"""))


@asset_check(asset=TEAM_PERIOD_METRICS, blocking=True, pool=WAREHOUSE_POOL,
             description="The ARR waterfall closes: ending ARR = starting + new + reactivation "
                         "+ expansion - contraction - churn (docs/metrics.md, ARR movements).")
def team_waterfall_closes(context: AssetCheckExecutionContext,
                          warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(context, _failures(warehouse, """
        select period_grain, period_start from marts.team_period_metrics
        where total_arr <> starting_arr + new_arr + reactivation_arr + expansion_arr
                          - contraction_arr - churned_arr"""))


@asset_check(asset=TEAM_PERIOD_METRICS, additional_deps=[CSM_PERIOD_METRICS], blocking=True,
             pool=WAREHOUSE_POOL,
             description="Per-CSM movements, `unassigned` included, add up to the team's.")
def csm_movements_sum_to_team(context: AssetCheckExecutionContext,
                              warehouse: DuckDBResource) -> AssetCheckResult:
    differences = " or ".join(f"coalesce(c.{m}, 0) <> t.{m}" for m in MOVEMENTS)
    return _result(context, _failures(warehouse, f"""
        with c as (
            select period_grain, period_start,
                   {', '.join(f'sum({m}) as {m}' for m in MOVEMENTS)},
                   sum(arr_managed) as arr_managed
            from marts.csm_period_metrics group by all
        )
        select t.period_grain, t.period_start
        from marts.team_period_metrics t
        left join c using (period_grain, period_start)
        where {differences} or coalesce(c.arr_managed, 0) <> t.total_arr"""))


@asset_check(asset=CSM_PERIOD_METRICS, additional_deps=[TEAM_PERIOD_METRICS], pool=WAREHOUSE_POOL,
             description="Every month between the first and the last one built has a team row "
                         "and CSM rows; the metadata has the rows per month. A gap is a month "
                         "never backfilled.")
def months_have_rows(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as conn:
        rows = conn.execute("""
            with months as (
                select unnest(generate_series(min(period_start), max(period_start),
                                              interval 1 month))::date as month
                from marts.team_period_metrics where period_grain = 'month'
            ),
            csm as (
                select period_start as month, count(*) as csm_rows
                from marts.csm_period_metrics where period_grain = 'month' group by all
            ),
            team as (
                select period_start as month, count(*) as team_rows
                from marts.team_period_metrics where period_grain = 'month' group by all
            )
            select strftime(month, '%Y-%m'), coalesce(team_rows, 0), coalesce(csm_rows, 0)
            from months left join csm using (month) left join team using (month)
            order by month""").fetchall()
    gaps = [month for month, team, csm in rows if not team or not csm]
    return AssetCheckResult(
        passed=not gaps, severity=AssetCheckSeverity.WARN,
        metadata={"months": len(rows), "months_without_rows": gaps[:24],
                  "csm_rows_per_month": {month: csm for month, _, csm in rows[-24:]}})


CHECKS: list[Any] = [*KEY_CHECKS, account_waterfall_closes, team_waterfall_closes,
                     csm_movements_sum_to_team, months_have_rows]
