-- grain: one row per time entry that counts as time: stopped, and not rejected.
-- rule: running timers are not counted until they stop, rejected entries are in quarantine;
-- only the CSM population's hours reach the marts, the rest only a data-quality count
-- (docs/metrics.md, Who is a CSM; Hours). `in_population` says which.
with entries as (
    select * from intermediate.int_time_entries__unified
    where reject_reason is null and not is_running
),

population as (
    select * from intermediate.int_people__csms
),

final as (
    select
        entries.*,
        coalesce(entries.csm_id in (select csm_id from population), false) as in_population
    from entries
)

select * from final
