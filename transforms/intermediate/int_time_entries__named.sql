-- grain: one row per time entry from either tracker (Toggl and Clockify in one shape).
-- rule: an entry carries the names of its project, its project's client and its tags (sorted;
-- [] when it has none), and its client's and project's names folded for matching accounts by
-- name (docs/metrics.md, Hours). Tag names come by an equality join on the entries that have
-- tags (most have none). A marts build reads only the entries of its window
-- (in_entry_window, macros/entries.sql); every other reader, all of them.
with entries as (
    select * from staging.stg_toggl__time_entries where in_entry_window(start_at)
    union all by name
    select * from staging.stg_clockify__time_entries where in_entry_window(start_at)
),

projects as (
    select * from intermediate.int_time_entries__projects
),

tags as (
    select * from intermediate.int_time_entries__tags
),

entry_tags as (
    select entries.entry_id, list(tags.tag_name order by tags.tag_name) as tags
    from (select entry_id, source, unnest(tag_ids) as tag_id from entries) as entries
    inner join tags on tags.source = entries.source and tags.tag_id = entries.tag_id
    group by entries.entry_id
),

final as (
    select
        entries.*,
        projects.project_name,
        projects.client_name,
        coalesce(entry_tags.tags, []) as tags,
        projects.client_key,
        projects.project_key
    from entries
    left join entry_tags on entry_tags.entry_id = entries.entry_id
    left join projects
        on projects.source = entries.source and projects.project_id = entries.project_id
)

select * from final
