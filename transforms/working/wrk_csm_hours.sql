-- grain: one row per (period, CSM) who tracked any time in the period.
-- rule: worked hours exclude leave; leave is kept apart, to reduce capacity (docs/metrics.md,
-- Hours). A `ttm` period's hours are the sum of its twelve months' (milliseconds add up exactly;
-- months split entries at the same instants), each month measured to `as_of`.
with periods as (
    select * from wrk_periods
),

entry_periods as (
    select * from wrk_entry_periods
),

entries as (
    select * from wrk_entries
    where in_population
),

settings as (
    select * from staging.settings
),

ttm_periods as (
    select * from periods
    where period_grain = 'ttm'
),

-- Every month a ttm period of the build spans, measured to `as_of`.
spine as (
    select
        cast(month_start as date) as month_start,
        timezone(settings.reporting_timezone, month_start) as start_instant,
        least(timezone(settings.reporting_timezone, month_start + interval 1 month),
              (select max(as_of) from periods)) as end_instant
    from range((select cast(min(period_start) as timestamp) from ttm_periods),
               (select cast(max(period_end) as timestamp) from ttm_periods),
               interval 1 month) as months(month_start)
    cross join settings
),

month_hours as (
    select
        spine.month_start,
        entries.csm_id,
        entries.account_id is not null as on_account,
        entries.is_leave,
        sum(date_diff('millisecond', greatest(entries.start_at, spine.start_instant),
                      least(entries.stop_at, spine.end_instant))) as milliseconds
    from entries
    inner join spine
        on entries.start_at < spine.end_instant and entries.stop_at > spine.start_instant
    group by all
),

counted as (
    select
        period_grain,
        period_start,
        csm_id,
        account_id is not null as on_account,
        is_leave,
        milliseconds
    from entry_periods
    union all
    select
        ttm_periods.period_grain,
        ttm_periods.period_start,
        month_hours.csm_id,
        month_hours.on_account,
        month_hours.is_leave,
        month_hours.milliseconds
    from month_hours
    inner join ttm_periods
        on month_hours.month_start >= ttm_periods.period_start
        and month_hours.month_start < ttm_periods.period_end
),

final as (
    select
        period_grain,
        period_start,
        csm_id,
        coalesce(sum(milliseconds) filter (where not is_leave), 0) as worked_ms,
        coalesce(sum(milliseconds) filter (where not is_leave and on_account), 0)
            as on_accounts_ms,
        coalesce(sum(milliseconds) filter (where not is_leave and not on_account), 0)
            as unattributed_ms,
        coalesce(sum(milliseconds) filter (where is_leave), 0) as leave_ms
    from counted
    group by all
)

select * from final
