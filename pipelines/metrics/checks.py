"""Checks on the marts: keys and the invariants of docs/metrics.md. Each names the failing rows.

The key, waterfall and sum checks are blocking: when one fails, the run fails and nothing
downstream of the marts (the published DuckDB copy, the Hyper extract, PostgreSQL) is
written, so BI keeps the last good version. The step's failure names the check; its log and
metadata name the offending keys.

A check judges its own run's build only: when an overlapping run has rebuilt the marts since,
the check passes without judging ("judged": false, and the run that rebuilt them), since that
run's checks judge its build and only that run may publish it (pipelines/resources.py, Build).
A check run on its own (no build in its run) judges whatever build is in place.
"""


from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)
from dagster._core.errors import DagsterInvalidPropertyError  # not exported by name
from dagster_duckdb import DuckDBResource

from pipelines.metrics.assets import (
    ACCOUNT_PERIOD_METRICS,
    ACCOUNT_RISK,
    CSM_ACTIVITY_HOURS,
    CSM_OUTLOOK,
    CSM_PERIOD_METRICS,
    RENEWALS,
    TEAM_PERIOD_METRICS,
)
from pipelines.resources import WAREHOUSE_POOL, Build, record_failed_check, run_build
from warehouse.sql import transaction

MOVEMENTS = ("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr",
             "starting_arr")


def _rows(context: AssetCheckExecutionContext, warehouse: DuckDBResource,
          sql: str) -> list[tuple] | Build:
    """The rows `sql` finds in this run's build; or, when another run's build has replaced it,
    that build (not judged). One transaction: the build and the rows are one snapshot."""
    run_id = _run_id(context)
    with warehouse.get_connection() as conn, transaction(conn):
        if run_id is not None:
            build = run_build(conn, context.instance, run_id)
            if build.superseded:
                return build
        return conn.execute(sql).fetchall()


def _run_id(context: AssetCheckExecutionContext) -> str | None:
    """The check's run; None when it is called directly, outside any run (a test): it then
    judges what the warehouse holds, and records nothing."""
    try:
        return context.run.run_id
    except DagsterInvalidPropertyError:
        return None


def _not_judged(context: AssetCheckExecutionContext, build: Build) -> AssetCheckResult:
    context.log.warning(f"{context.check_specs[0].name} not judged: "
                        f"{build.superseded_message()}")
    return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN,
                            description=f"Not judged: {build.superseded_message()}.",
                            metadata={"judged": False, "superseded_by_run": build.current or ""})


def _failures(context: AssetCheckExecutionContext, warehouse: DuckDBResource,
              sql: str) -> AssetCheckResult:
    """A blocking result on the rows `sql` finds (each a failing key)."""
    rows = _rows(context, warehouse, sql)
    if isinstance(rows, Build):
        return _not_judged(context, rows)
    failing = [" ".join(str(v) for v in row) for row in rows]
    run_id = _run_id(context)
    if failing and run_id is not None:  # a publish on its own must not publish this build
        with warehouse.get_connection() as conn:  # (pipelines/resources.py)
            record_failed_check(conn, run_id, context.check_specs[0].name)
    return _result(context, failing)


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
        return _failures(context, warehouse, f"select {', '.join(keys)} from {table} "
                                              "group by all having count(*) > 1")

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
    return _failures(context, warehouse, """
        select period_grain, period_start, account_id from marts.account_period_metrics
        where ending_arr <> starting_arr + new_arr + reactivation_arr + expansion_arr
                            - contraction_arr - churned_arr""")


@asset_check(asset=TEAM_PERIOD_METRICS, blocking=True, pool=WAREHOUSE_POOL,
             description="The ARR waterfall closes: ending ARR = starting + new + reactivation "
                         "+ expansion - contraction - churn (docs/metrics.md, ARR movements).")
def team_waterfall_closes(context: AssetCheckExecutionContext,
                          warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, """
        select period_grain, period_start from marts.team_period_metrics
        where total_arr <> starting_arr + new_arr + reactivation_arr + expansion_arr
                          - contraction_arr - churned_arr""")


@asset_check(asset=TEAM_PERIOD_METRICS, additional_deps=[CSM_PERIOD_METRICS], blocking=True,
             pool=WAREHOUSE_POOL,
             description="Per-CSM movements, `unassigned` included, add up to the team's.")
def csm_movements_sum_to_team(context: AssetCheckExecutionContext,
                              warehouse: DuckDBResource) -> AssetCheckResult:
    differences = " or ".join(f"coalesce(c.{m}, 0) <> t.{m}" for m in MOVEMENTS)
    return _failures(context, warehouse, f"""
        with c as (
            select period_grain, period_start,
                   {', '.join(f'sum({m}) as {m}' for m in MOVEMENTS)},
                   sum(arr_managed) as arr_managed
            from marts.csm_period_metrics group by all
        )
        select t.period_grain, t.period_start
        from marts.team_period_metrics t
        left join c using (period_grain, period_start)
        where {differences} or coalesce(c.arr_managed, 0) <> t.total_arr""")


@asset_check(asset=CSM_PERIOD_METRICS, additional_deps=[TEAM_PERIOD_METRICS], pool=WAREHOUSE_POOL,
             description="Every month between the first and the last one built has a team row "
                         "and CSM rows; the metadata has the rows per month. A gap is a month "
                         "never backfilled.")
def months_have_rows(context: AssetCheckExecutionContext,
                     warehouse: DuckDBResource) -> AssetCheckResult:
    rows = _rows(context, warehouse, """
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
            order by month""")
    if isinstance(rows, Build):
        return _not_judged(context, rows)
    gaps = [month for month, team, csm in rows if not team or not csm]
    return AssetCheckResult(
        passed=not gaps, severity=AssetCheckSeverity.WARN,
        metadata={"months": len(rows), "months_without_rows": gaps[:24],
                  "csm_rows_per_month": {month: csm for month, _, csm in rows[-24:]}})


@asset_check(asset=CSM_PERIOD_METRICS, blocking=True, pool=WAREHOUSE_POOL,
             description="A CSM touches no more accounts of the ending book than it holds: "
                         "accounts_touched <= accounts_managed (docs/metrics.md, Engagement).")
def accounts_touched_within_book(context: AssetCheckExecutionContext,
                                 warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, """
        select period_grain, period_start, csm_id from marts.csm_period_metrics
        where accounts_touched > accounts_managed""")


@asset_check(asset=TEAM_PERIOD_METRICS, additional_deps=[CSM_PERIOD_METRICS], blocking=True,
             pool=WAREHOUSE_POOL,
             description="The team's touchpoints are the sum of its people's: each touchpoint "
                         "belongs to the person who did it, whoever owns the account.")
def csm_touchpoints_sum_to_team(context: AssetCheckExecutionContext,
                                warehouse: DuckDBResource) -> AssetCheckResult:
    # Rows written before the engagement columns existed hold NULL: not judged.
    return _failures(context, warehouse, """
        with c as (
            select period_grain, period_start, sum(touchpoints) as touchpoints
            from marts.csm_period_metrics group by all
        )
        select t.period_grain, t.period_start
        from marts.team_period_metrics t
        left join c using (period_grain, period_start)
        where coalesce(c.touchpoints, 0) <> t.touchpoints""")


@asset_check(asset=CSM_PERIOD_METRICS, blocking=True, pool=WAREHOUSE_POOL,
             description="touch_coverage and touchpoints_per_account are NULL exactly when "
                         "accounts_managed = 0 (docs/metrics.md, Engagement).")
def touch_ratios_null_without_book(context: AssetCheckExecutionContext,
                                   warehouse: DuckDBResource) -> AssetCheckResult:
    # Rows written before the engagement columns existed (touchpoints NULL) are not judged.
    return _failures(context, warehouse, """
        select period_grain, period_start, csm_id from marts.csm_period_metrics
        where touchpoints is not null
          and ((touch_coverage is null) <> (accounts_managed = 0)
               or (touchpoints_per_account is null) <> (accounts_managed = 0))""")


CHECKS: list[Any] = [*KEY_CHECKS, account_waterfall_closes, team_waterfall_closes,
                     csm_movements_sum_to_team, months_have_rows, accounts_touched_within_book,
                     csm_touchpoints_sum_to_team, touch_ratios_null_without_book]


# Churn reasons (docs/metrics.md, "Churn reasons"): a Pareto per period and movement.
CHURN_REASONS = AssetKey(["marts", "churn_reasons"])
REASON_KEY = (*PERIOD, "movement")


@asset_check(asset=CHURN_REASONS, blocking=True, pool=WAREHOUSE_POOL,
             description="Each movement's reasons share all of its accounts and ARR: "
                         "share_of_accounts and share_of_arr sum to 1 per period and movement.")
def churn_reason_shares_sum_to_one(context: AssetCheckExecutionContext,
                                   warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, f"""
        select {', '.join(REASON_KEY)} from marts.churn_reasons group by all
        having abs(sum(share_of_accounts) - 1) > 1e-9 or abs(sum(share_of_arr) - 1) > 1e-9""")


@asset_check(asset=CHURN_REASONS, blocking=True, pool=WAREHOUSE_POOL,
             description="rank_by_arr is a permutation of 1..n per period and movement, so "
                         "the Pareto has one order.")
def churn_reason_ranks_are_a_permutation(context: AssetCheckExecutionContext,
                                         warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, f"""
        select {', '.join(REASON_KEY)} from marts.churn_reasons group by all
        having min(rank_by_arr) <> 1 or max(rank_by_arr) <> count(*)
            or count(distinct rank_by_arr) <> count(*)""")


CHECKS += [keys_unique(CHURN_REASONS, (*REASON_KEY, "reason")), churn_reason_shares_sum_to_one,
           churn_reason_ranks_are_a_permutation]


# Steering (docs/metrics.md, "Capacity plan", "Control limits"): the capacity plan and the
# control charts.
CAPACITY_PLAN = AssetKey(["marts", "capacity_plan"])
KPI_CONTROL = AssetKey(["marts", "kpi_control"])
SIGNALS = ("beyond_limits", "run_of_8", "two_of_three_beyond_2sigma",
           "four_of_five_beyond_1sigma")


@asset_check(asset=KPI_CONTROL, blocking=True, pool=WAREHOUSE_POOL,
             description="Control limits are ordered: lnpl <= centre <= unpl.")
def kpi_control_limits_ordered(context: AssetCheckExecutionContext,
                               warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, """
        select kpi, scope, period_start from marts.kpi_control
        where not (lnpl <= centre and centre <= unpl)""")


@asset_check(asset=KPI_CONTROL, blocking=True, pool=WAREHOUSE_POOL,
             description="Limits and signals exist exactly where they should: the limits "
                         "where the centre does; every signal is NULL where the limits or the "
                         "value are NULL, and TRUE or FALSE where neither is.")
def kpi_control_signals_only_with_limits(context: AssetCheckExecutionContext,
                                         warehouse: DuckDBResource) -> AssetCheckResult:
    differ = " or ".join(
        [f"({s} is null) <> (centre is null or value is null)" for s in SIGNALS]
        + [f"({s} is null) <> (centre is null)" for s in ("unpl", "lnpl", "mr_bar", "sigma")])
    return _failures(context, warehouse, f"""
        select kpi, scope, period_start from marts.kpi_control where {differ}""")


@asset_check(asset=CAPACITY_PLAN, additional_deps=[CSM_PERIOD_METRICS], blocking=True,
             pool=WAREHOUSE_POOL,
             description="fte_available on the 'all' row is the roster's FTE, recomputed from "
                         "the roster and settings: everyone on the roster and every other CSM "
                         "with a row in the period, FTE (else the default) x the share of the "
                         "period's days (begun by as_of) they were employed.")
def capacity_fte_is_the_rosters(context: AssetCheckExecutionContext,
                                warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, """
        with plan as (
            -- a period not over counts the days begun by as_of (docs/metrics.md, Periods)
            select period_grain, period_start, fte_available,
                   least(period_end, cast(timezone(settings.reporting_timezone, as_of)
                                          - interval 1 microsecond as date) + 1) as period_end
            from marts.capacity_plan cross join staging.settings as settings
            where segment = 'all'
        ),
        team as (
            select plan.period_grain, plan.period_start, roster.email as person, roster.fte,
                   roster.start_date, roster.end_date
            from plan cross join staging.roster as roster
            union
            select people.period_grain, people.period_start, people.csm_id, null, null, null
            from marts.csm_period_metrics as people
            anti join staging.roster as roster on roster.email = people.csm_id
            where people.csm_id <> 'unassigned'
        ),
        recomputed as (
            select plan.period_grain, plan.period_start, plan.fte_available,
                   coalesce(sum(coalesce(team.fte, settings.default_fte) * greatest(0, date_diff(
                       'day', greatest(plan.period_start, coalesce(team.start_date,
                                                                   plan.period_start)),
                       least(plan.period_end, coalesce(team.end_date + 1, plan.period_end))))
                       / nullif(date_diff('day', plan.period_start, plan.period_end), 0)), 0)
                       as expected
            from plan
            cross join staging.settings as settings
            left join team using (period_grain, period_start)
            group by all
        )
        select period_grain, period_start, fte_available, expected from recomputed
        where abs(fte_available - expected) > 1e-9""")


CHECKS += [keys_unique(CAPACITY_PLAN, (*PERIOD, "segment")),
           keys_unique(KPI_CONTROL, ("kpi", "scope", "period_start")),
           kpi_control_limits_ordered, kpi_control_signals_only_with_limits,
           capacity_fte_is_the_rosters]


# Looking ahead (docs/metrics.md, "Looking ahead"): renewals, churn risk and each CSM's outlook.
OUTLOOK_SUMS = ("accounts_managed", "arr_managed", "arr_renewing_90d", "arr_renewing_180d",
                "accounts_renewing_90d", "high_risk_accounts", "high_risk_arr",
                "renewing_90d_untouched_30d")


@asset_check(asset=CSM_OUTLOOK, blocking=True, pool=WAREHOUSE_POOL,
             description="The outlook's `team` row is the sum of its people's rows, "
                         "`unassigned` included, and its share of high-risk accounts touched "
                         "is the people's touched high-risk accounts over theirs.")
def csm_outlook_team_is_the_sum(context: AssetCheckExecutionContext,
                                warehouse: DuckDBResource) -> AssetCheckResult:
    differences = " or ".join(f"t.{c} is distinct from coalesce(p.{c}, 0)" for c in OUTLOOK_SUMS)
    return _failures(context, warehouse, f"""
        with p as (
            select {', '.join(f'sum({c}) as {c}' for c in OUTLOOK_SUMS)},
                   sum(high_risk_touched_30d * high_risk_accounts) as touched
            from marts.csm_outlook where csm_id <> 'team'
        ),
        t as (
            select * from marts.csm_outlook where csm_id = 'team'
        )
        -- no team row at all is a failure too
        select 'team' from p left join t on true
        where t.csm_id is null or {differences}
           or abs(coalesce(t.high_risk_touched_30d, -1)
                  - coalesce(p.touched / nullif(p.high_risk_accounts, 0), -1)) > 1e-9""")


@asset_check(asset=CSM_OUTLOOK, additional_deps=[RENEWALS], blocking=True,
             pool=WAREHOUSE_POOL,
             description="The renewals within 90 days (marts.renewals) add up to each "
                         "outlook row's arr_renewing_90d and accounts_renewing_90d, per person "
                         "and for the team.")
def renewals_sum_to_outlook(context: AssetCheckExecutionContext,
                            warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, """
        with soon as (
            select * from marts.renewals where days_to_renewal <= 90
        ),
        by_owner as (
            select csm_id, sum(arr_lapsing) as arr, count(distinct account_id) as accounts
            from soon group by all
            union all
            select 'team', sum(arr_lapsing), count(distinct account_id) from soon
        )
        select outlook.csm_id, outlook.arr_renewing_90d, by_owner.arr
        from marts.csm_outlook as outlook
        full join by_owner using (csm_id)
        where coalesce(outlook.arr_renewing_90d, -1) <> coalesce(by_owner.arr, 0)
           or coalesce(outlook.accounts_renewing_90d, -1) <> coalesce(by_owner.accounts, 0)""")


@asset_check(asset=ACCOUNT_RISK, additional_deps=[RENEWALS], blocking=True,
             pool=WAREHOUSE_POOL,
             description="Churn probabilities are in [0, 1], in marts.account_risk and "
                         "marts.renewals alike, and the risk band is `unknown` exactly where "
                         "there is none.")
def churn_probabilities_in_range(context: AssetCheckExecutionContext,
                                 warehouse: DuckDBResource) -> AssetCheckResult:
    return _failures(context, warehouse, """
        select 'account_risk', account_id from marts.account_risk
        where not coalesce(churn_probability between 0 and 1, true)
           or (churn_probability is null) <> (risk_band = 'unknown')
        union all
        select 'renewals', account_id from marts.renewals
        where not coalesce(churn_probability between 0 and 1, true)
           or (churn_probability is null) <> (risk_band = 'unknown')""")


CHECKS += [keys_unique(RENEWALS, ("account_id", "renewal_date")),
           keys_unique(ACCOUNT_RISK, ("account_id",)), keys_unique(CSM_OUTLOOK, ("csm_id",)),
           csm_outlook_team_is_the_sum, renewals_sum_to_outlook, churn_probabilities_in_range]
