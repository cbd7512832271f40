-- grain: one row per project of either tracker (source, project_id).
-- rule: a project carries its name and its client's, and both folded for matching accounts by
-- name (docs/metrics.md, Hours): what an entry's project tells, whoever reads it per entry
-- (int_time_entries__named) or per resolution key (int_time_entries__keys).
with projects as (
    select 'toggl' as source, * from staging.stg_toggl__projects
    union all by name
    select 'clockify' as source, * from staging.stg_clockify__projects
),

clients as (
    select 'toggl' as source, * from staging.stg_toggl__clients
    union all by name
    select 'clockify' as source, * from staging.stg_clockify__clients
),

final as (
    select
        projects.source,
        projects.project_id,
        projects.project_name,
        clients.client_name,
        fold_name(clients.client_name) as client_key,
        fold_name(projects.project_name) as project_key
    from projects
    left join clients
        on clients.source = projects.source and clients.client_id = projects.client_id
)

select * from final
