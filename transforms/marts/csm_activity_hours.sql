-- grain: one row per (period_grain, period_start, csm_id, activity) with worked hours.
-- rule: where a person's hours went, by activity category (the keyword map); share is the
-- category's part of the person's worked hours in the period (METRICS.md 6, 7).
with entry_periods as (
    select * from mart_entry_periods
),

periods as (
    select * from mart_periods
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
        by_activity.csm_id,
        by_activity.activity,
        by_activity.activity_ms / 3600000.0 as hours,
        cast(by_activity.activity_ms as double) / nullif(sum(by_activity.activity_ms) over (
            partition by by_activity.period_grain, by_activity.period_start, by_activity.csm_id
        ), 0) as share
    from by_activity
    inner join periods using (period_grain, period_start)
    where by_activity.activity_ms > 0
)

select * from final
