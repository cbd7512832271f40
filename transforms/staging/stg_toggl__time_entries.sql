-- grain: one row per Toggl time entry (flattened from the detailed report's grouped rows),
-- less those deleted in Toggl.
-- rule: a running entry has no stop (and a negative duration); it is not counted until stopped.
with source as (
    select * from raw.toggl__time_entries
),

final as (
    select
        _pk,
        prefixed_id('toggl', _record->>'id') as entry_id,
        'toggl' as source,
        _record->>'user_id' as user_id,
        _record->>'project_id' as project_id,
        coalesce(_record->>'description', '') as description,
        coalesce(from_json(_record->'tag_ids', '["VARCHAR"]'), []) as tag_ids,
        try_cast(_record->>'start' as timestamptz) as start_at,
        try_cast(_record->>'stop' as timestamptz) as stop_at,
        'REGULAR' as entry_type
    from source
    where _deleted_at is null
)

select * from final
