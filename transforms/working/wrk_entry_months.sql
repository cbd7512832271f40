-- grain: one row per (month, resolution key) with counted time in the month: the hours cube.
-- rule: hours count in the month they were worked: an entry across a month's end is split at the
-- month's instants in the reporting time zone, and the month of `as_of` counts them up to it.
-- Running and rejected entries are left out (docs/metrics.md, Hours; Periods). Lengths are whole
-- milliseconds, which add up exactly, so every quarter, year and trailing twelve months is the
-- sum of its months (wrk_entry_periods, wrk_csm_hours): their boundaries are month instants. The
-- months are every month of the build's periods begun by `as_of`; an entry finds its key by the
-- key's hash and the key itself (wrk_entry_keys).
with settings as (
    select * from staging.settings
),

periods as (
    select * from wrk_periods
),

keys as (
    select * from wrk_entry_keys
),

entries as (
    select * from intermediate.int_time_entries__keyed
    where stop_at is not null and entry_reject_reason(start_at, stop_at) is null
),

months as (
    select
        cast(month_start as date) as month_start,
        local_midnight(month_start, settings.reporting_timezone) as start_instant,
        least(local_midnight(month_start + interval 1 month, settings.reporting_timezone),
              (select max(as_of) from periods)) as end_instant
    from range((select cast(min(period_start) as timestamp) from periods),
               (select cast(max(period_end) as timestamp) from periods),
               interval 1 month) as spine(month_start)
    cross join settings
    where local_midnight(month_start, settings.reporting_timezone) < (select max(as_of) from periods)
),

final as (
    select
        months.month_start,
        keys.key_id,
        sum(ms_inside(entries.start_at, entries.stop_at, months.start_instant,
                      months.end_instant)) as milliseconds
    from entries
    inner join keys on same_key(keys, entries)
    inner join months
        on overlaps_interval(entries.start_at, entries.stop_at, months.start_instant,
                             months.end_instant)
    group by all
)

select * from final
