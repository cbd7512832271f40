-- grain: one row per time entry from either tracker, with its resolution key.
-- rule: every rule that places an entry's hours (its account, activity, person, leave and
-- population, docs/metrics.md, Hours; Who is a CSM) reads only its resolution key: source, user,
-- project, tags, description and type (`entry_key`), of which there are a few thousand against
-- millions of entries; `key_hash` is its hash, computed when the entry was typed (typed staging),
-- for joins, which also compare `entry_key` (a
-- struct, never NULL, compared field by field with NULL fields equal), so two keys with the same
-- hash never merge (int_time_entries__keys resolves each key once). A marts
-- build reads only the entries of its window (in_entry_window, macros/entries.sql).
with toggl as (
    select * from staging.stg_toggl__time_entries
    where in_entry_window(start_at)
),

clockify as (
    select * from staging.stg_clockify__time_entries
    where in_entry_window(start_at)
),

entries as (
    select entry_id, source, user_id, project_id, tag_ids, description, entry_type, start_at,
           stop_at, key_hash
    from toggl
    union all
    select entry_id, source, user_id, project_id, tag_ids, description, entry_type, start_at,
           stop_at, key_hash
    from clockify
),

final as (
    select
        entry_id,
        start_at,
        stop_at,
        entry_key(source, user_id, project_id, tag_ids, description, entry_type) as entry_key,
        key_hash
    from entries
)

select * from final
