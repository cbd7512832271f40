-- grain: one row per Clockify time entry, less those that vanished from Clockify.
-- rule: `type` other than REGULAR (TIME_OFF, HOLIDAY) is leave; a running entry has no end.
-- Durations arrive as ISO-8601 (`PT2H54M`); an entry with a duration but no end ends there.
-- Each record is parsed once, into the fields read (`->>` would parse it once a field): the
-- widest staging table, typed as it lands (docs/performance.md).
-- `key_hash` is the hash of the entry's resolution key (macro entry_key), computed once, when
-- the record is typed: int_time_entries__keyed joins on it and on the key itself.
with source as (
    select * from raw.clockify__time_entries
),

fields as (
    select
        _pk,
        _deleted_at,
        from_json(_record, '{"id": "VARCHAR", "userId": "VARCHAR", "projectId": "VARCHAR",
                             "description": "VARCHAR", "tagIds": "JSON", "type": "VARCHAR",
                             "timeInterval": {"start": "VARCHAR", "end": "VARCHAR",
                                              "duration": "VARCHAR"}}') as r
    from source
),

parsed as (
    select
        *,
        r.timeInterval.duration as duration_raw,
        try_cast(r.timeInterval.start as timestamptz) as started_at,
        coalesce(try_cast(regexp_extract(duration_raw, 'P(\d+)D', 1) as bigint), 0) * 86400
            + coalesce(try_cast(regexp_extract(duration_raw, 'T(?:.*?)(\d+)H', 1) as bigint), 0)
                * 3600
            + coalesce(try_cast(regexp_extract(duration_raw, 'T(?:.*?)(\d+)M', 1) as bigint), 0)
                * 60
            + coalesce(try_cast(regexp_extract(duration_raw, 'T(?:.*?)(\d+)S', 1) as bigint), 0)
            as duration_seconds
    from fields
),

typed as (
    select
        _pk,
        prefixed_id('clockify', r.id) as entry_id,
        'clockify' as source,
        r.userId as user_id,
        nullif(r.projectId, '') as project_id,
        coalesce(r.description, '') as description,
        coalesce(from_json(r.tagIds, '["VARCHAR"]'), []) as tag_ids,
        started_at as start_at,
        coalesce(
            try_cast(r.timeInterval."end" as timestamptz),
            case when duration_raw is not null then started_at + to_seconds(duration_seconds) end
        ) as stop_at,
        case when duration_raw is not null then duration_seconds end as duration_seconds,
        upper(coalesce(r.type, 'REGULAR')) as entry_type
    from parsed
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
