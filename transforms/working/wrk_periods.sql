-- grain: one row per period that the months [$range_start, $range_end) touch: the months
-- themselves, and every quarter and year that overlaps them.
-- rule: a period is half-open [period_start, period_end) in the reporting time zone, its snapshots
-- taken at the instants period_start and period_end (docs/metrics.md, Periods and snapshots).
-- Quarters and years follow the fiscal year's start month and are computed from their own start and
-- end instants.
with settings as (
    select * from staging.settings
),

months as (
    select cast(month_start as date) as month_start
    from range(cast($range_start as timestamp) - interval 11 month,
               cast($range_end as timestamp), interval 1 month) as months(month_start)
),

starts as (
    select 'month' as period_grain, month_start as period_start, 1 as months
    from months
    where month_start >= cast($range_start as date)
    union all
    select 'quarter', month_start, 3
    from months cross join settings
    where (month(month_start) - settings.fiscal_year_start_month + 12) % 3 = 0
    union all
    select 'year', month_start, 12
    from months cross join settings
    where month(month_start) = settings.fiscal_year_start_month
),

bounded as (
    select
        period_grain,
        period_start,
        cast(period_start + to_months(months) as date) as period_end
    from starts
),

final as (
    select
        bounded.period_grain,
        bounded.period_start,
        bounded.period_end,
        timezone(settings.reporting_timezone, cast(bounded.period_start as timestamp))
            as start_instant,
        timezone(settings.reporting_timezone, cast(bounded.period_end as timestamp))
            as end_instant,
        date_diff('day', bounded.period_start, bounded.period_end) as days,
        date_diff('month', bounded.period_start, bounded.period_end) as months
    from bounded
    cross join settings
    where bounded.period_end > cast($range_start as date)
      and bounded.period_start < cast($range_end as date)
)

select * from final
