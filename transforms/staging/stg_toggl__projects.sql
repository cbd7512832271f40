-- grain: one row per Toggl project.
with source as (
    select * from raw.toggl__projects
),

final as (
    select
        _pk,
        _record->>'id' as project_id,
        _record->>'name' as project_name,
        _record->>'client_id' as client_id
    from source
)

select * from final
