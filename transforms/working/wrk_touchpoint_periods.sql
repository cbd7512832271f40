-- grain: one row per (period, person, account) with touchpoints by that person on that account in
-- the period, for the periods of this build.
-- rule: a period's touchpoints are those whose instants fall in [start_instant, end_instant), at
-- every grain (docs/metrics.md, Engagement). They are counted per month first (wrk_months), then
-- summed over each period's months: a period's instants are its months', so the sums are the
-- period's own counts, and a touchpoint is placed once, not once for each of the fifteen periods
-- (month, quarter, year, twelve trailing twelve months) that hold it.
with periods as (
    select * from wrk_periods
),

months as (
    select * from wrk_months
),

touchpoints as (
    select * from wrk_touchpoints
),

month_counts as (
    select
        months.month_start,
        touchpoints.csm_id,
        touchpoints.account_id,
        count(*) as touchpoints
    from touchpoints
    inner join months on in_period(months, touchpoints.occurred_at)
    group by all
),

final as (
    select
        periods.period_grain,
        periods.period_start,
        month_counts.csm_id,
        month_counts.account_id,
        sum(month_counts.touchpoints) as touchpoints
    from month_counts
    inner join periods
        on month_of(periods, month_counts.month_start)
    group by all
)

select * from final
