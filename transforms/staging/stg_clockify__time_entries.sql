-- grain: one row per Clockify time entry, less those that vanished from Clockify.
-- rule: `type` other than REGULAR (TIME_OFF, HOLIDAY) is leave; a running entry has no end.
with source as (
    select * from raw.clockify__time_entries
),

final as (
    select
        'clockify:' || (_record->>'id') as entry_id,
        'clockify' as source,
        _record->>'userId' as user_id,
        nullif(_record->>'projectId', '') as project_id,
        coalesce(_record->>'description', '') as description,
        coalesce(from_json(_record->'tagIds', '["VARCHAR"]'), []) as tag_ids,
        try_cast(_record->'timeInterval'->>'start' as timestamptz) as start_at,
        try_cast(_record->'timeInterval'->>'end' as timestamptz) as stop_at,
        upper(coalesce(_record->>'type', 'REGULAR')) as entry_type
    from source
    where _deleted_at is null
)

select * from final
