-- grain: one row per month of the build's periods (wrk_periods) closed by `as_of`.
-- rule: what a month's hours depend on among the time entries: the entries that can overlap it
-- (starting from the longest counted entry before its first instant to its end, in the reporting
-- time zone), as their number and the sum of a hash of each one's key hash (typed staging's),
-- start and stop (docs/architecture.md, Hours as a cube). A landed, re-landed or deleted entry changes its
-- month's fingerprint, and the hours cube recomputes that month. Entries are read between
-- $entries_from and $entries_to, constants that reach the typed staging scans.
with settings as (
    select * from staging.settings
),

periods as (
    select * from wrk_periods
),

months as (
    select
        cast(month_start as date) as month_start,
        local_midnight(month_start, settings.reporting_timezone) as start_instant,
        local_midnight(month_start + interval 1 month, settings.reporting_timezone)
            as end_instant
    from range((select cast(min(period_start) as timestamp) from periods),
               (select cast(max(period_end) as timestamp) from periods),
               interval 1 month) as spine(month_start)
    cross join settings
    where local_midnight(month_start + interval 1 month, settings.reporting_timezone)
          <= (select max(as_of) from periods)
),

entries as (
    select start_at, hash(key_hash, start_at, stop_at) as entry_hash
    from intermediate.int_time_entries__keyed
    where start_at >= $entries_from and start_at < $entries_to
),

final as (
    select
        months.month_start,
        months.start_instant,
        months.end_instant,
        count(entries.start_at) as entries,
        coalesce(sum(entries.entry_hash), 0) as fingerprint
    from months
    left join entries
        on entries.start_at >= months.start_instant - max_entry_length()
        and entries.start_at < months.end_instant
    group by all
)

select * from final
