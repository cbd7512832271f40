-- grain: one row per time entry from either tracker.
-- rule: the entry's account is, in order, a CRM account id written in its tags, description,
-- project or client; the client's name equal to an account's; the project's name equal to an
-- account's (names folded) (METRICS.md 6). Leave (a non-REGULAR Clockify type, or a configured
-- project or tag) is not work. Running timers are not counted; zero, negative or >24 h entries
-- are rejected with a reason.
with settings as (
    select * from staging.settings
),

accounts as (
    select * from intermediate.int_accounts__unified
),

identities as (
    select * from intermediate.int_people__identities
),

toggl as (
    select
        entries.*,
        projects.project_name,
        clients.client_name,
        coalesce((
            select list(tags.tag_name order by tags.tag_name)
            from staging.stg_toggl__tags as tags
            where list_contains(entries.tag_ids, tags.tag_id)
        ), []) as tags
    from staging.stg_toggl__time_entries as entries
    left join staging.stg_toggl__projects as projects on projects.project_id = entries.project_id
    left join staging.stg_toggl__clients as clients on clients.client_id = projects.client_id
),

clockify as (
    select
        entries.*,
        projects.project_name,
        clients.client_name,
        coalesce((
            select list(tags.tag_name order by tags.tag_name)
            from staging.stg_clockify__tags as tags
            where list_contains(entries.tag_ids, tags.tag_id)
        ), []) as tags
    from staging.stg_clockify__time_entries as entries
    left join staging.stg_clockify__projects as projects
        on projects.project_id = entries.project_id
    left join staging.stg_clockify__clients as clients on clients.client_id = projects.client_id
),

entries as (
    select entry_id, source, user_id, start_at, stop_at, description, project_name, client_name,
        tags, entry_type
    from toggl
    union all
    select entry_id, source, user_id, start_at, stop_at, description, project_name, client_name,
        tags, entry_type
    from clockify
),

id_refs as (
    select
        entry_id,
        unnest(regexp_extract_all(
            concat_ws(' ', description, project_name, client_name, array_to_string(tags, ' ')),
            '(?i)\b(?:sf:[a-z0-9]{15,18}|hs:[0-9]+|001[a-z0-9]{15})\b'
        )) as ref
    from entries
),

id_matches as (
    select id_refs.entry_id, min(accounts.account_id) as account_id
    from id_refs
    inner join accounts
        on lower(accounts.account_id) = lower(
            case when id_refs.ref ilike '001%' then 'sf:' || id_refs.ref else id_refs.ref end)
    group by id_refs.entry_id
),

names as (
    select name_key, min(account_id) as account_id
    from accounts
    where not is_deleted
    group by name_key
),

final as (
    select
        entries.entry_id,
        entries.source,
        identities.csm_id,
        entries.start_at,
        entries.stop_at,
        entries.description,
        entries.project_name,
        entries.client_name,
        entries.tags,
        entries.entry_type <> 'REGULAR'
            or coalesce(lower(entries.project_name) in (select unnest(leave_projects)
                                                        from settings), false)
            or list_has_any(list_transform(entries.tags, lambda t: lower(t)),
                            (select leave_tags from settings))
            as is_leave,
        coalesce(id_matches.account_id, by_client.account_id, by_project.account_id)
            as account_id,
        case
            when id_matches.account_id is not null then 'id'
            when by_client.account_id is not null then 'client_name'
            when by_project.account_id is not null then 'project_name'
        end as account_match,
        case
            when entries.start_at is null then 'no readable start'
            when entries.stop_at is null then null
            when entries.stop_at <= entries.start_at then 'zero or negative length'
            when entries.stop_at - entries.start_at > interval 24 hour then 'longer than 24 hours'
        end as reject_reason,
        entries.stop_at is null as is_running
    from entries
    left join identities
        on identities.system = entries.source and identities.ref = entries.user_id
    left join id_matches on id_matches.entry_id = entries.entry_id
    left join names as by_client
        on by_client.name_key = regexp_replace(lower(entries.client_name), '[^\p{L}\p{N}]+', '', 'g')
    left join names as by_project
        on by_project.name_key
            = regexp_replace(lower(entries.project_name), '[^\p{L}\p{N}]+', '', 'g')
)

select * from final
