-- grain: one row per tracker user whose time entries count nowhere in the marts.
-- rule: tracker users outside the CSM population (an engineer sharing the workspace, or an
-- e-mail no CRM or roster knows) are not CSMs: their hours appear only in this data-quality
-- count (docs/metrics.md, Who is a CSM).
with entries as (
    select * from intermediate.int_time_entries__counted
    where not in_population
),

final as (
    select
        entries.source,
        coalesce(entries.csm_id, '(no e-mail)') as tracker_email,
        count(*) as entries,
        ms_to_hours(sum(date_diff('millisecond', entries.start_at, entries.stop_at))) as hours
    from entries
    group by all
)

select * from final
