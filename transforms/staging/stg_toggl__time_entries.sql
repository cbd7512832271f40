-- grain: one row per Toggl time entry (flattened from the detailed report's grouped rows),
-- less those deleted in Toggl.
-- rule: a running entry has no stop (and a negative duration); it is not counted until stopped.
-- Each record is parsed once, into the fields read (docs/performance.md).
-- `key_hash` is the hash of the entry's resolution key (macro entry_key), computed once, when
-- the record is typed: int_time_entries__keyed joins on it and on the key itself.
with source as (
    select * from raw.toggl__time_entries
),

fields as (
    select
        _pk,
        _deleted_at,
        from_json(_record, '{"id": "VARCHAR", "user_id": "VARCHAR", "project_id": "VARCHAR",
                             "description": "VARCHAR", "tag_ids": "JSON", "start": "VARCHAR",
                             "stop": "VARCHAR"}') as r
    from source
),

typed as (
    select
        _pk,
        prefixed_id('toggl', r.id) as entry_id,
        'toggl' as source,
        r.user_id as user_id,
        r.project_id as project_id,
        coalesce(r.description, '') as description,
        coalesce(from_json(r.tag_ids, '["VARCHAR"]'), []) as tag_ids,
        try_cast(r.start as timestamptz) as start_at,
        try_cast(r.stop as timestamptz) as stop_at,
        'REGULAR' as entry_type
    from fields
    where _deleted_at is null
),

final as (
    select
        *,
        hash(entry_key(source, user_id, project_id, tag_ids, description, entry_type))
            as key_hash
    from typed
)

select * from final
