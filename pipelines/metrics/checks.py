"""Checks on the marts: keys and the METRICS.md invariants. Each names the failing rows."""


from typing import Any

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check
from dagster_duckdb import DuckDBResource

from pipelines.metrics.assets import (
    ACCOUNT_PERIOD_METRICS,
    CSM_ACTIVITY_HOURS,
    CSM_PERIOD_METRICS,
    TEAM_PERIOD_METRICS,
)

MOVEMENTS = ("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr",
             "starting_arr")


def _failures(warehouse: DuckDBResource, sql: str) -> list[str]:
    with warehouse.get_connection() as conn:
        return [" ".join(str(v) for v in row) for row in conn.execute(sql).fetchall()]


def _result(failing: list[str]) -> AssetCheckResult:
    return AssetCheckResult(passed=not failing, severity=AssetCheckSeverity.ERROR,
                            metadata={"failing_rows": len(failing), "examples": failing[:20]})


@asset_check(asset=CSM_PERIOD_METRICS, description="One row per (period_grain, period_start, "
             "csm_id).")
def csm_period_metrics_keys_unique(warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(_failures(warehouse, """
        select period_grain, period_start, csm_id from marts.csm_period_metrics
        group by all having count(*) > 1"""))


@asset_check(asset=TEAM_PERIOD_METRICS, description="One row per (period_grain, period_start).")
def team_period_metrics_keys_unique(warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(_failures(warehouse, """
        select period_grain, period_start from marts.team_period_metrics
        group by all having count(*) > 1"""))


@asset_check(asset=ACCOUNT_PERIOD_METRICS, description="One row per (period_grain, "
             "period_start, account_id).")
def account_period_metrics_keys_unique(warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(_failures(warehouse, """
        select period_grain, period_start, account_id from marts.account_period_metrics
        group by all having count(*) > 1"""))


@asset_check(asset=CSM_ACTIVITY_HOURS, description="One row per (period_grain, period_start, "
             "csm_id, activity).")
def csm_activity_hours_keys_unique(warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(_failures(warehouse, """
        select period_grain, period_start, csm_id, activity from marts.csm_activity_hours
        group by all having count(*) > 1"""))


@asset_check(asset=ACCOUNT_PERIOD_METRICS, description="Every account's waterfall closes: "
             "ending ARR = starting + its movements (METRICS.md 5).")
def account_waterfall_closes(warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(_failures(warehouse, """
        select period_grain, period_start, account_id from marts.account_period_metrics
        where ending_arr <> starting_arr + new_arr + reactivation_arr + expansion_arr
                            - contraction_arr - churned_arr"""))


@asset_check(asset=TEAM_PERIOD_METRICS, description="The ARR waterfall closes: ending ARR = "
             "starting + new + reactivation + expansion - contraction - churn (METRICS.md 5).")
def team_waterfall_closes(warehouse: DuckDBResource) -> AssetCheckResult:
    return _result(_failures(warehouse, """
        select period_grain, period_start from marts.team_period_metrics
        where total_arr <> starting_arr + new_arr + reactivation_arr + expansion_arr
                          - contraction_arr - churned_arr"""))


@asset_check(asset=TEAM_PERIOD_METRICS, additional_deps=[CSM_PERIOD_METRICS],
             description="Per-CSM movements, `unassigned` included, add up to the team's.")
def csm_movements_sum_to_team(warehouse: DuckDBResource) -> AssetCheckResult:
    differences = " or ".join(f"coalesce(c.{m}, 0) <> t.{m}" for m in MOVEMENTS)
    return _result(_failures(warehouse, f"""
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


CHECKS: list[Any] = [csm_period_metrics_keys_unique, team_period_metrics_keys_unique,
                     account_period_metrics_keys_unique, csm_activity_hours_keys_unique,
                     account_waterfall_closes, team_waterfall_closes, csm_movements_sum_to_team]
