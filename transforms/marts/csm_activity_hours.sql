-- grain: one row per (period_grain, period_start, csm_id, activity) with worked hours.
-- rule: where a person's hours went, by activity category (the keyword map); share is the
-- category's part of the person's worked hours in the period (docs/metrics.md, Hours;
-- `marts.csm_activity_hours`). A `partial` period's hours and shares are NULL (docs/metrics.md,
-- Periods); no `ttm` rows.
with entry_periods as (
    select * from wrk_entry_periods
),

periods as (
    select * from wrk_periods
),

by_activity as (
    select period_grain, period_start, csm_id, activity, sum(milliseconds) as activity_ms
    from entry_periods
    where not is_leave
    group by all
),

final as (
    select
        by_activity.period_grain,
        by_activity.period_start,
        periods.period_end,
        periods.period_status,
        periods.months_with_hours,
        by_activity.csm_id,
        by_activity.activity,
        if_hours_loaded(periods.period_status, ms_to_hours(by_activity.activity_ms)) as hours,
        if_hours_loaded(periods.period_status,
            cast(by_activity.activity_ms as double) / nullif(sum(by_activity.activity_ms) over (
                partition by by_activity.period_grain, by_activity.period_start,
                    by_activity.csm_id), 0)) as share
    from by_activity
    inner join periods using (period_grain, period_start)
    where by_activity.activity_ms > 0
)

select * from final
