-- grain: one row per (period, time entry) of the CSM population that overlaps the period, for every
-- grain but `ttm` (whose hours wrk_csm_hours adds up from months).
-- rule: hours count in the period they were worked: an entry across a boundary is split at the
-- period's instants in the reporting time zone, and a period not over counts them up to `as_of`
-- (its `end_instant`). Running and rejected entries are left out; only the CSM population's
-- entries count (docs/metrics.md, Who is a CSM; Hours; Periods). Lengths are whole milliseconds
-- (exact integers), turned into hours only by the marts, so a re-run gives identical hours whatever
-- order rows are added in.
with periods as (
    select * from wrk_periods
    where period_grain <> 'ttm'
),

entries as (
    select * from wrk_entries
    where in_population
),

final as (
    select
        periods.period_grain,
        periods.period_start,
        entries.entry_id,
        entries.csm_id,
        entries.account_id,
        entries.activity,
        entries.is_leave,
        date_diff('millisecond', greatest(entries.start_at, periods.start_instant),
                  least(entries.stop_at, periods.end_instant)) as milliseconds
    from entries
    inner join periods
        on entries.start_at < periods.end_instant and entries.stop_at > periods.start_instant
)

select * from final
