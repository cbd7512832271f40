-- grain: one row per (kpi, scope, period_start) at month grain; scope is `team` or a csm_id
-- (`unassigned` is not a person and has no chart).
-- rule: each KPI's monthly series, per CSM from marts.csm_period_metrics and for the team from
-- marts.team_period_metrics, charted as an XmR chart with limits from the months before each
-- point and the Western Electric signals (the `control_chart` macro, transforms/macros/
-- control.sql; docs/metrics.md, `marts.kpi_control`). The team's series use the team's own
-- columns: `revenue_efficiency` and `csm_ratio` in place of ARR and accounts managed,
-- `account_efficiency` as its accounts per hour, and its people's summed hours for hours per
-- account (every CSM's hours on accounts over the customers) and utilization (the hours worked
-- of the people with capacity in the month over their capacity: hours tracked outside a
-- person's employment add nothing). A KPI column a mart does not have yet has no series.
-- Limits are clipped to what each KPI can take (`bounds`). Complete months only: an open month
-- (measured to date) or a partial one would move the baselines and fire signals on half a
-- month (docs/metrics.md, Periods).
-- Every month's limits depend on the months before it, so the table is recomputed whole from
-- every month the marts hold, after this build's months are written.
with team_metrics as (
    select * from marts.team_period_metrics
    where period_grain = 'month'
      and period_status = 'complete'
),

-- The months charted are the team's: every series, the people's too, reads only these.
months as (
    select period_start from team_metrics
),

people_metrics as (
    select * from marts.csm_period_metrics
    where period_grain = 'month'
      and period_start in (select period_start from months)
),

settings as (
    select * from staging.settings
),

-- What each KPI can take (docs/metrics.md, `marts.kpi_control`): NULL is unbounded. Retention
-- and coverage are shares of a book; NRR, counts, hours and utilization cannot be negative but
-- can pass 1 (expansion, overtime).
bounds as (
    select * from (values
        ('nrr', 0.0, null),
        ('grr', 0.0, 1.0),
        ('logo_retention', 0.0, 1.0),
        ('arr_managed', 0.0, null),
        ('revenue_efficiency', 0.0, null),
        ('accounts_managed', 0.0, null),
        ('csm_ratio', 0.0, null),
        ('accounts_per_hour', 0.0, null),
        ('hours_per_account', 0.0, null),
        ('utilization', 0.0, null),
        ('touch_coverage', 0.0, 1.0),
        ('nps', -100.0, 100.0)
    ) as b(kpi, lower_bound, upper_bound)
),

csm_values as (
    select
        period_start,
        csm_id as scope,
        columns(lambda c: c in ('nrr', 'grr', 'logo_retention', 'arr_managed',
                                'accounts_managed', 'accounts_per_hour', 'hours_per_account',
                                'utilization', 'touch_coverage', 'nps'))::double
    from people_metrics
    where csm_id <> 'unassigned'
),

people_totals as (
    select
        period_start,
        exact_sum(hours_on_accounts) as hours_on_accounts,
        -- `unassigned` has no capacity (NULL), nor has anyone outside their employment (0).
        exact_sum(if(capacity_hours > 0, hours_worked, null)) as hours_worked,
        exact_sum(if(capacity_hours > 0, capacity_hours, null)) as capacity_hours
    from people_metrics
    group by all
),

team_values as (
    select
        team_metrics.period_start,
        'team' as scope,
        columns(lambda c: c in ('nrr', 'grr', 'logo_retention', 'revenue_efficiency',
                                'csm_ratio', 'touch_coverage', 'nps'))::double,
        team_metrics.account_efficiency as accounts_per_hour,
        people_totals.hours_on_accounts / nullif(team_metrics.customer_count, 0)
            as hours_per_account,
        people_totals.hours_worked / nullif(people_totals.capacity_hours, 0) as utilization
    from team_metrics
    left join people_totals using (period_start)
),

values_long as (
    select kpi, scope, period_start, value
    from csm_values
    unpivot include nulls (value for kpi in (columns(* exclude (period_start, scope))))
    union all
    select kpi, scope, period_start, value
    from team_values
    unpivot include nulls (value for kpi in (columns(* exclude (period_start, scope))))
),

series as (
    select values_long.*, bounds.lower_bound, bounds.upper_bound
    from values_long
    left join bounds using (kpi)
),

charted as (
    select *
    from control_chart('series', (select control_baseline_months from settings),
                       (select control_min_points from settings))
),

final as (
    select
        charted.kpi,
        charted.scope,
        'month' as period_grain,
        charted.period_start,
        cast(charted.period_start + interval 1 month as date) as period_end,
        charted.value,
        charted.baseline_points,
        charted.centre,
        charted.mr_bar,
        charted.sigma,
        charted.unpl,
        charted.lnpl,
        charted.beyond_limits,
        charted.run_of_8,
        charted.two_of_three_beyond_2sigma,
        charted.four_of_five_beyond_1sigma
    from charted
)

select * from final
