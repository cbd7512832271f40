-- fails on: a capacity plan 'all' row whose fte_available differs from the roster's FTE
-- recomputed from the roster and settings: everyone on the roster and every other CSM with a
-- row in the period, FTE (else the default) x the share of the period's days (begun by as_of)
-- they were employed.
with settings as (
    select * from staging.settings
),

roster as (
    select * from staging.roster
),

people as (
    select * from marts.csm_period_metrics
),

plan as (
    -- a period not over counts the days begun by as_of (docs/metrics.md, Periods)
    select period_grain, period_start, fte_available,
           least(period_end, cast(timezone(settings.reporting_timezone, as_of)
                                  - interval 1 microsecond as date) + 1) as period_end
    from marts.capacity_plan
    cross join settings
    where segment = 'all'
),

team as (
    select plan.period_grain, plan.period_start, roster.email as person, roster.fte,
           roster.start_date, roster.end_date
    from plan
    cross join roster
    union
    select people.period_grain, people.period_start, people.csm_id, null, null, null
    from people
    anti join roster on roster.email = people.csm_id
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
    cross join settings
    left join team using (period_grain, period_start)
    group by all
),

final as (
    select period_grain, period_start, fte_available, expected
    from recomputed
    where abs(fte_available - expected) > 1e-9
)

select * from final
