-- grain: one row per (period, CSM, account, activity, leave) of the CSM population's hours, for
-- every grain but `ttm` (whose hours wrk_csm_hours adds up from months).
-- rule: hours count in the period they were worked, split at the period's instants in the
-- reporting time zone, a period not over counting them up to `as_of`; only the CSM population's
-- entries count (docs/metrics.md, Who is a CSM; Hours; Periods). Every period's boundaries are
-- month instants, so its milliseconds are the sum of its months' in the hours cube
-- (wrk_entry_months, exact integers): quarters and years are rolled up from month rows, never
-- from entries again.
with periods as (
    select * from wrk_periods
    where period_grain <> 'ttm'
),

cube as (
    select * from wrk_entry_months
),

keys as (
    select * from wrk_entry_keys
    where in_population
),

key_months as (
    select
        cube.month_start,
        keys.csm_id,
        keys.account_id,
        keys.activity,
        keys.is_leave,
        sum(cube.milliseconds) as milliseconds
    from cube
    inner join keys using (key_id)
    group by all
),

final as (
    select
        periods.period_grain,
        periods.period_start,
        key_months.csm_id,
        key_months.account_id,
        key_months.activity,
        key_months.is_leave,
        sum(key_months.milliseconds) as milliseconds
    from key_months
    inner join periods
        on month_of(periods, key_months.month_start)
    group by all
)

select * from final
