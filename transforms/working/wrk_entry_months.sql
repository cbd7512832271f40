-- grain: one row per (month, resolution key) with counted time in the month: the hours cube.
-- rule: hours count in the month they were worked: an entry across a month's end is split at the
-- month's instants in the reporting time zone, and the month of `as_of` counts them up to it.
-- Running and rejected entries are left out (docs/metrics.md, Hours; Periods). Lengths are whole
-- milliseconds, which add up exactly, so every quarter, year and trailing twelve months is the
-- sum of its months (wrk_entry_periods, wrk_csm_hours): their boundaries are month instants. The
-- months are every month of the build's periods begun by `as_of` (wrk_months); an entry finds
-- its key by the key's hash and the key itself (wrk_entry_keys). A month closed by `as_of` that
-- the hours cube kept between builds (staging._hours_cube, brought up to date with the entries
-- before the working models run, warehouse/hours_cube.py) is read from it; only the others (the
-- month of `as_of`, or every month where nothing is kept) are split from entries here.
with settings as (
    select * from staging.settings
),

keys as (
    select * from wrk_entry_keys
),

kept_months as (
    select * from staging._hours_cube_months
),

kept as (
    select * from staging._hours_cube
),

months as (
    select * from wrk_months
),

-- Months closed by `as_of` whose hours the cube keeps: measured to their end either way.
months_kept as (
    select months.*
    from months
    inner join kept_months using (month_start)
    cross join settings
    where months.end_instant = local_midnight(months.month_start + interval 1 month,
                                              settings.reporting_timezone)
),

months_split as (
    select * from months
    where month_start not in (select month_start from months_kept)
),

entries as (
    select * from intermediate.int_time_entries__keyed
    where stop_at is not null and entry_reject_reason(start_at, stop_at) is null
      and start_at >= (select min(start_instant) from months_split) - max_entry_length()
      and start_at < (select max(end_instant) from months_split)
),

split as (
    select
        months_split.month_start,
        keys.key_id,
        sum(ms_inside(entries.start_at, entries.stop_at, months_split.start_instant,
                      months_split.end_instant)) as milliseconds
    from entries
    inner join keys on same_key(keys, entries)
    inner join months_split
        on overlaps_interval(entries.start_at, entries.stop_at, months_split.start_instant,
                             months_split.end_instant)
    group by all
),

from_cube as (
    select kept.month_start, keys.key_id, kept.milliseconds
    from kept
    inner join months_kept using (month_start)
    inner join keys on same_key(keys, kept)
),

final as (
    select * from split
    union all
    select * from from_cube
)

select * from final
