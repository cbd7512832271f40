-- grain: one row per month in [$range_start, $range_end), with its start and end instants.
-- rule: a period is the half-open month [period_start, period_end) in the reporting time zone;
-- its snapshots are taken at the instants period_start and period_end (METRICS.md 1).
with settings as (
    select * from staging.settings
),

months as (
    select cast(month_start as date) as period_start
    from range(cast($range_start as timestamp), cast($range_end as timestamp), interval 1 month)
        as months(month_start)
),

final as (
    select
        'month' as period_grain,
        period_start,
        cast(period_start + interval 1 month as date) as period_end,
        timezone(settings.reporting_timezone, cast(period_start as timestamp)) as start_instant,
        timezone(settings.reporting_timezone, cast(period_start + interval 1 month as timestamp))
            as end_instant
    from months
    cross join settings
)

select * from final
