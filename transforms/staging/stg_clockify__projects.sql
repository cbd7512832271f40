-- grain: one row per Clockify project.
with source as (
    select * from raw.clockify__projects
),

final as (
    select
        _pk,
        _record->>'id' as project_id,
        _record->>'name' as project_name,
        nullif(_record->>'clientId', '') as client_id
    from source
)

select * from final
