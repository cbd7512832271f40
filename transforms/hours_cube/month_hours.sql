-- grain: one row per (month, resolution key) with counted time in a month the hours cube
-- recomputes (`hours_cube_stale`: months closed by the build's `as_of` whose fingerprint
-- changed).
-- rule: an entry's milliseconds inside the month's instants in the reporting time zone, the
-- whole month (a month closed by `as_of` is measured to its end); running and rejected entries
-- are left out (docs/metrics.md, Hours; Periods). The key is kept as it is (its hash and the key
-- itself): it is resolved by each build, so a changed rule or CRM name moves the hours without
-- recomputing the cube. Entries are read between $entries_from and $entries_to.
with months as (
    select * from hours_cube_stale
),

entries as (
    select * from intermediate.int_time_entries__keyed
    where start_at >= $entries_from and start_at < $entries_to
      and stop_at is not null and entry_reject_reason(start_at, stop_at) is null
),

final as (
    select
        months.month_start,
        entries.key_hash,
        entries.entry_key,
        sum(ms_inside(entries.start_at, entries.stop_at, months.start_instant,
                      months.end_instant)) as milliseconds
    from entries
    inner join months
        on overlaps_interval(entries.start_at, entries.stop_at, months.start_instant,
                             months.end_instant)
    group by all
)

select * from final
