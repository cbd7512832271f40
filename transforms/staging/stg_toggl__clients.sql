-- grain: one row per Toggl client.
with source as (
    select * from raw.toggl__clients
),

final as (
    select
        _pk,
        _record->>'id' as client_id,
        _record->>'name' as client_name
    from source
)

select * from final
