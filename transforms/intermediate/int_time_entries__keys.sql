-- grain: one row per distinct resolution key among the time entries (int_time_entries__keyed).
-- rule: a key carries the names of its project, its project's client and its tags (sorted; []
-- when it has none), and its client's and project's names folded for matching accounts by name
-- (docs/metrics.md, Hours): int_time_entries__named's rule, run once per key instead of once per
-- entry. `key_id` numbers the keys of one query (a surrogate: a marts build keeps it in
-- wrk_entry_keys); readers joining entries back compare `key_hash` and `entry_key`.
-- Materialized: the keys are numbered once and read twice (tags, then joined back).
with entries as (
    select * from intermediate.int_time_entries__keyed
),

projects as (
    select * from intermediate.int_time_entries__projects
),

tags as (
    select * from intermediate.int_time_entries__tags
),

distinct_keys as (
    select key_hash, entry_key
    from entries
    group by key_hash, entry_key
),

keys as materialized (
    select
        row_number() over () as key_id,
        key_hash,
        entry_key,
        entry_key.source as source,
        entry_key.user_id as user_id,
        entry_key.project_id as project_id,
        entry_key.tag_ids as tag_ids,
        entry_key.description as description,
        entry_key.entry_type as entry_type
    from distinct_keys
),

key_tags as (
    select keys.key_id, list(tags.tag_name order by tags.tag_name) as tags
    from (select key_id, source, unnest(tag_ids) as tag_id from keys) as keys
    inner join tags on tags.source = keys.source and tags.tag_id = keys.tag_id
    group by keys.key_id
),

final as (
    select
        keys.*,
        projects.project_name,
        projects.client_name,
        coalesce(key_tags.tags, []) as tags,
        projects.client_key,
        projects.project_key
    from keys
    left join key_tags on key_tags.key_id = keys.key_id
    left join projects
        on projects.source = keys.source and projects.project_id = keys.project_id
)

select * from final
