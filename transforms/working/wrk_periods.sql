-- grain: one row per period that the months [$range_start, $range_end) touch: the months
-- themselves, every quarter and year that overlaps them, and every trailing twelve months (`ttm`)
-- that overlaps them and ends by the month of $as_of.
-- rule: a period is half-open [period_start, period_end) in the reporting time zone, its snapshots
-- taken at the instants period_start and period_end (docs/metrics.md, Periods and snapshots).
-- Quarters and years follow the fiscal year's start month and are computed from their own start and
-- end instants; a `ttm` period is the twelve months ending with its month. A period not over at
-- $as_of is measured to it: `end_instant` is the earlier of its end and $as_of, `snapshot_date` the
-- day its end snapshot is taken, `elapsed_end` the day after the last day begun; its status is
-- `partial` when one of its months begun by then has no landed time entries, else `open` when it
-- ends after $as_of, else `complete`; a period not begun by $as_of is not built (docs/metrics.md,
-- Complete, open and partial periods).
with settings as (
    select * from staging.settings
),

pulled as (
    select * from intermediate.int_time_entries__months_pulled
),

months as (
    select cast(month_start as date) as month_start
    from range(cast($range_start as timestamp) - interval 11 month,
               cast($range_end as timestamp) + interval 11 month,
               interval 1 month) as months(month_start)
),

starts as (
    select 'month' as period_grain, month_start as period_start, 1 as months
    from months
    where month_start >= cast($range_start as date)
      and month_start < cast($range_end as date)
    union all
    select 'quarter', month_start, 3
    from months cross join settings
    where (month(month_start) - settings.fiscal_year_start_month + 12) % 3 = 0
    union all
    select 'year', month_start, 12
    from months cross join settings
    where month(month_start) = settings.fiscal_year_start_month
    union all
    -- the twelve months ending with a month that the range's months fall in
    select 'ttm', month_start, 12
    from months cross join settings
    where month_start + interval 11 month
          <= date_trunc('month', timezone(settings.reporting_timezone, $as_of))
),

bounded as (
    select
        period_grain,
        period_start,
        cast(period_start + to_months(months) as date) as period_end
    from starts
    where cast(period_start + to_months(months) as date) > cast($range_start as date)
      and period_start < cast($range_end as date)
),

instants as (
    select
        bounded.period_grain,
        bounded.period_start,
        bounded.period_end,
        local_midnight(bounded.period_start, settings.reporting_timezone)
            as start_instant,
        local_midnight(bounded.period_end, settings.reporting_timezone)
            as period_end_instant,
        greatest(least(period_end_instant, $as_of), start_instant) as end_instant
    from bounded
    cross join settings
),

-- Each month of each period begun by the period's measured end, and whether its time entries
-- were pulled.
period_months as (
    select
        instants.period_grain,
        instants.period_start,
        months.month_start
    from instants
    cross join settings
    inner join months
        on month_of(instants, months.month_start)
    where local_midnight(months.month_start, settings.reporting_timezone)
          < instants.end_instant
),

loaded as (
    select
        period_months.period_grain,
        period_months.period_start,
        count(*) as months_begun,
        count(pulled.month_start) as months_with_hours
    from period_months
    left join pulled on pulled.month_start = period_months.month_start
    group by all
),

final as (
    select
        instants.period_grain,
        instants.period_start,
        instants.period_end,
        instants.start_instant,
        instants.end_instant,
        instants.period_end_instant,
        case when instants.end_instant < instants.period_end_instant
            then cast(timezone(settings.reporting_timezone, instants.end_instant) as date)
            else instants.period_end
        end as snapshot_date,
        case when instants.end_instant < instants.period_end_instant
            then cast(timezone(settings.reporting_timezone, instants.end_instant)
                      - interval 1 microsecond as date) + 1
            else instants.period_end
        end as elapsed_end,
        date_diff('day', instants.period_start, instants.period_end) as days,
        date_diff('month', instants.period_start, instants.period_end) as months,
        coalesce(loaded.months_with_hours, 0) as months_with_hours,
        case
            when coalesce(loaded.months_with_hours, 0) < coalesce(loaded.months_begun, 0)
                then 'partial'
            when instants.end_instant < instants.period_end_instant then 'open'
            else 'complete'
        end as period_status,
        cast($as_of as timestamptz) as as_of
    from instants
    cross join settings
    left join loaded using (period_grain, period_start)
    -- a period that has not begun by $as_of describes nothing yet
    where instants.start_instant <= $as_of
)

select * from final
