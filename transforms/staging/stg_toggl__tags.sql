-- grain: one row per Toggl tag.
with source as (
    select * from raw.toggl__tags
),

final as (
    select
        _pk,
        _record->>'id' as tag_id,
        _record->>'name' as tag_name
    from source
)

select * from final
