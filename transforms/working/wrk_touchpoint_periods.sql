-- grain: one row per (period, touchpoint, account it touched) for the periods of this build.
-- rule: a period's touchpoints are those whose instants fall in [start_instant, end_instant), at
-- every grain (a quarter's own instants, not its months'), placed here once for the person's,
-- the team's and the account's figures (docs/metrics.md, Engagement).
with periods as (
    select * from wrk_periods
),

touchpoints as (
    select * from wrk_touchpoints
),

final as (
    select
        periods.period_grain,
        periods.period_start,
        touchpoints.*
    from touchpoints
    inner join periods on in_period(periods, touchpoints.occurred_at)
)

select * from final
