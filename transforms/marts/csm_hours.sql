-- grain: one row per (period, CSM) who tracked any time in the period.
-- rule: hours count in the period they were worked: an entry across a boundary is split at the
-- period's instants in the reporting time zone. Leave is not work; it is kept apart as leave.
-- Only the CSM population's hours count (METRICS.md 2, 6). Durations are summed as whole
-- milliseconds (exact integers), turned into hours only by the marts, so a re-run gives identical hours
-- whatever order the rows are added in.
with periods as (
    select * from mart_periods
),

entries as (
    select * from intermediate.int_time_entries__unified
    where reject_reason is null and not is_running
),

population as (
    select * from intermediate.int_people__csms
),

splits as (
    select
        periods.period_grain,
        periods.period_start,
        entries.csm_id,
        entries.is_leave,
        entries.account_id,
        date_diff('millisecond', greatest(entries.start_at, periods.start_instant),
                  least(entries.stop_at, periods.end_instant)) as milliseconds
    from entries
    inner join periods
        on entries.start_at < periods.end_instant and entries.stop_at > periods.start_instant
    where entries.csm_id in (select csm_id from population)
),

final as (
    select
        period_grain,
        period_start,
        csm_id,
        coalesce(sum(milliseconds) filter (where not is_leave), 0) as worked_ms,
        coalesce(sum(milliseconds) filter (where not is_leave and account_id is not null), 0)
            as on_accounts_ms,
        coalesce(sum(milliseconds) filter (where not is_leave and account_id is null), 0)
            as unattributed_ms,
        coalesce(sum(milliseconds) filter (where is_leave), 0) as leave_ms
    from splits
    group by all
)

select * from final
