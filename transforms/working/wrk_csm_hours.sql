-- grain: one row per (period, CSM) who tracked any time in the period.
-- rule: worked hours exclude leave; leave is kept apart, to reduce capacity (docs/metrics.md,
-- Hours). Every grain, `ttm` included, is the sum of its months in the hours cube
-- (wrk_entry_months: milliseconds add up exactly, and months split entries at the same instants
-- as quarters and years), each month measured to `as_of`.
with periods as (
    select * from wrk_periods
),

cube as (
    select * from wrk_entry_months
),

keys as (
    select * from wrk_entry_keys
    where in_population
),

month_hours as (
    select
        cube.month_start,
        keys.csm_id,
        keys.account_id is not null as on_account,
        keys.is_leave,
        sum(cube.milliseconds) as milliseconds
    from cube
    inner join keys using (key_id)
    group by all
),

counted as (
    select
        periods.period_grain,
        periods.period_start,
        month_hours.csm_id,
        month_hours.on_account,
        month_hours.is_leave,
        month_hours.milliseconds
    from month_hours
    inner join periods
        on month_of(periods, month_hours.month_start)
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
