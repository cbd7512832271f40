-- grain: one row per Clockify time entry, less those that vanished from Clockify.
-- rule: `type` other than REGULAR (TIME_OFF, HOLIDAY) is leave; a running entry has no end.
-- Durations arrive as ISO-8601 (`PT2H54M`); an entry with a duration but no end ends there.
with source as (
    select * from raw.clockify__time_entries
),

parsed as (
    select
        *,
        _record->'timeInterval'->>'duration' as duration_raw,
        coalesce(try_cast(regexp_extract(_record->'timeInterval'->>'duration',
                                         'P(\d+)D', 1) as bigint), 0) * 86400
            + coalesce(try_cast(regexp_extract(_record->'timeInterval'->>'duration',
                                               'T(?:.*?)(\d+)H', 1) as bigint), 0) * 3600
            + coalesce(try_cast(regexp_extract(_record->'timeInterval'->>'duration',
                                               'T(?:.*?)(\d+)M', 1) as bigint), 0) * 60
            + coalesce(try_cast(regexp_extract(_record->'timeInterval'->>'duration',
                                               'T(?:.*?)(\d+)S', 1) as bigint), 0)
            as duration_seconds
    from source
),

final as (
    select
        _pk,
        prefixed_id('clockify', _record->>'id') as entry_id,
        'clockify' as source,
        _record->>'userId' as user_id,
        nullif(_record->>'projectId', '') as project_id,
        coalesce(_record->>'description', '') as description,
        coalesce(from_json(_record->'tagIds', '["VARCHAR"]'), []) as tag_ids,
        try_cast(_record->'timeInterval'->>'start' as timestamptz) as start_at,
        coalesce(
            try_cast(_record->'timeInterval'->>'end' as timestamptz),
            case when duration_raw is not null then
                try_cast(_record->'timeInterval'->>'start' as timestamptz)
                    + to_seconds(duration_seconds)
            end
        ) as stop_at,
        case when duration_raw is not null then duration_seconds end as duration_seconds,
        upper(coalesce(_record->>'type', 'REGULAR')) as entry_type
    from parsed
    where _deleted_at is null
)

select * from final
