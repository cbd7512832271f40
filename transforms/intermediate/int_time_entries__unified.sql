-- grain: one row per time entry from either tracker.
-- rule: an entry is its resolution key's (int_time_entries__resolved: person, account, activity,
-- leave), joined back on the key's hash and the key itself, so two keys sharing a hash never
-- merge. Running timers are not counted; zero, negative or >24 h entries are rejected with a
-- reason (docs/metrics.md, Hours).
with entries as (
    select * from intermediate.int_time_entries__keyed
),

keys as (
    select * from intermediate.int_time_entries__resolved
),

final as (
    select
        entries.entry_id,
        keys.source,
        keys.csm_id,
        entries.start_at,
        entries.stop_at,
        keys.description,
        keys.project_name,
        keys.client_name,
        keys.tags,
        keys.is_leave,
        keys.account_id,
        keys.account_match,
        keys.activity,
        entry_reject_reason(entries.start_at, entries.stop_at) as reject_reason,
        entries.stop_at is null as is_running
    from entries
    inner join keys on same_key(keys, entries)
)

select * from final
