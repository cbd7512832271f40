-- grain: one row per time entry from either tracker.
-- rule: the entry's account is, in order, a CRM account id written in its tags, description,
-- project or client; the client's name equal to an account's; the project's name equal to an
-- account's (names folded); the alias table (METRICS.md 6). Its activity is the first category
-- of the keyword map whose keyword is one of its tags or appears in its project's name, else
-- `other`. Leave (a non-REGULAR Clockify type, or a configured project or tag) is not work.
-- Running timers are not counted; zero, negative or >24 h entries are rejected with a reason.
with settings as (
    select * from staging.settings
),

accounts as (
    select * from intermediate.int_accounts__unified
),

identities as (
    select * from intermediate.int_people__identities
),

entries as (
    select * from staging.stg_toggl__time_entries
    union all by name
    select * from staging.stg_clockify__time_entries
),

projects as (
    select 'toggl' as source, * from staging.stg_toggl__projects
    union all by name
    select 'clockify' as source, * from staging.stg_clockify__projects
),

clients as (
    select 'toggl' as source, * from staging.stg_toggl__clients
    union all by name
    select 'clockify' as source, * from staging.stg_clockify__clients
),

tags as (
    select 'toggl' as source, * from staging.stg_toggl__tags
    union all by name
    select 'clockify' as source, * from staging.stg_clockify__tags
),

-- Tag names by equality join on the entries that have tags (most have none).
entry_tags as (
    select entries.entry_id, list(tags.tag_name order by tags.tag_name) as tags
    from (select entry_id, source, unnest(tag_ids) as tag_id from entries) as entries
    inner join tags on tags.source = entries.source and tags.tag_id = entries.tag_id
    group by entries.entry_id
),

-- Materialized: read by several steps below, and built from JSON, so built once.
named as materialized (
    select
        entries.*,
        projects.project_name,
        clients.client_name,
        coalesce(entry_tags.tags, []) as tags,
        regexp_replace(lower(clients.client_name), '[^\p{L}\p{N}]+', '', 'g') as client_key,
        regexp_replace(lower(projects.project_name), '[^\p{L}\p{N}]+', '', 'g') as project_key
    from entries
    left join entry_tags on entry_tags.entry_id = entries.entry_id
    left join projects
        on projects.source = entries.source and projects.project_id = entries.project_id
    left join clients
        on clients.source = entries.source and clients.client_id = projects.client_id
),

id_refs as (
    select
        entry_id,
        unnest(regexp_extract_all(
            concat_ws(' ', description, project_name, client_name, array_to_string(tags, ' ')),
            '(?i)\b(?:sf:[a-z0-9]{15,18}|hs:[0-9]+|001[a-z0-9]{15})\b'
        )) as ref
    from named
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

aliases as (
    select
        regexp_replace(lower(aliases.name), '[^\p{L}\p{N}]+', '', 'g') as name_key,
        min(accounts.account_id) as account_id
    from staging.account_aliases as aliases
    inner join accounts on accounts.account_id = aliases.account_id
    group by 1
),

keywords as (
    select * from staging.activity_keywords
),

-- A keyword matches a tag exactly, or appears in the project's name: matched per distinct tag
-- and project name (a few hundred), then joined to the entries by equality.
tag_hits as (
    select tagged.entry_id, keywords.activity, keywords.priority
    from (select entry_id, lower(unnest(tags)) as tag from named) as tagged
    inner join keywords on keywords.keyword = tagged.tag
),

project_hits as (
    select projects.source, projects.project_name, keywords.activity, keywords.priority
    from (select distinct source, project_name from named where project_name is not null)
        as projects
    inner join keywords on contains(lower(projects.project_name), keywords.keyword)
),

activities as (
    select entry_id, arg_min(activity, priority) as activity
    from (
        select entry_id, activity, priority from tag_hits
        union all
        select named.entry_id, project_hits.activity, project_hits.priority
        from named
        inner join project_hits
            on project_hits.source = named.source
            and project_hits.project_name = named.project_name
    )
    group by entry_id
),

final as (
    select
        named.entry_id,
        named.source,
        identities.csm_id,
        named.start_at,
        named.stop_at,
        named.description,
        named.project_name,
        named.client_name,
        named.tags,
        named.entry_type <> 'REGULAR'
            or coalesce(lower(named.project_name) in (select unnest(leave_projects)
                                                        from settings), false)
            or list_has_any(list_transform(named.tags, lambda t: lower(t)),
                            (select leave_tags from settings))
            as is_leave,
        coalesce(id_matches.account_id, by_client.account_id, by_project.account_id,
                 by_alias_client.account_id, by_alias_project.account_id) as account_id,
        case
            when id_matches.account_id is not null then 'id'
            when by_client.account_id is not null then 'client_name'
            when by_project.account_id is not null then 'project_name'
            when coalesce(by_alias_client.account_id, by_alias_project.account_id) is not null
                then 'alias'
        end as account_match,
        coalesce(activities.activity, 'other') as activity,
        case
            when named.start_at is null then 'no readable start'
            when named.stop_at is null then null
            when named.stop_at <= named.start_at then 'zero or negative length'
            when named.stop_at - named.start_at > interval 24 hour then 'longer than 24 hours'
        end as reject_reason,
        named.stop_at is null as is_running
    from named
    left join identities
        on identities.system = named.source and identities.ref = named.user_id
    left join id_matches on id_matches.entry_id = named.entry_id
    left join names as by_client on by_client.name_key = named.client_key
    left join names as by_project on by_project.name_key = named.project_key
    left join aliases as by_alias_client on by_alias_client.name_key = named.client_key
    left join aliases as by_alias_project on by_alias_project.name_key = named.project_key
    left join activities on activities.entry_id = named.entry_id
)

select * from final
