"""Checks on the marts: keys and the METRICS.md invariants. Each names the failing rows."""


from typing import Any

from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, asset_check
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


def keys_unique(asset: AssetKey, keys: tuple[str, ...]) -> Any:
    """A check that no two rows of a mart share its key."""
    table = ".".join(asset.path)

    @asset_check(asset=asset, name=f"{asset.path[-1]}_keys_unique",
                 description=f"One row per ({', '.join(keys)}).")
    def _check(warehouse: DuckDBResource) -> AssetCheckResult:
        return _result(_failures(warehouse, f"select {', '.join(keys)} from {table} "
                                 "group by all having count(*) > 1"))

    return _check


PERIOD = ("period_grain", "period_start")
KEY_CHECKS = [
    keys_unique(CSM_PERIOD_METRICS, (*PERIOD, "csm_id")),
    keys_unique(TEAM_PERIOD_METRICS, PERIOD),
    keys_unique(ACCOUNT_PERIOD_METRICS, (*PERIOD, "account_id")),
    keys_unique(CSM_ACTIVITY_HOURS, (*PERIOD, "csm_id", "activity")),
]


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


@asset_check(asset=CSM_PERIOD_METRICS, additional_deps=[TEAM_PERIOD_METRICS],
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
