-- grain: one row per resolution key of the time entries, with its account and its activity.
-- rule: the activity is the first category of the keyword map (lowest priority) whose keyword
-- is one of the entry's tags or appears in its project's name, else `other` (docs/metrics.md,
-- Hours). Tags are matched exactly, by an equality join; project names through
-- int_activities__project_names, matched once per distinct name.
-- Resolved once per key. Materialized: the keys are read twice (hits, then joined back).
with entries as materialized (
    select * from intermediate.int_time_entries__accounts
),

keywords as (
    select * from staging.activity_keywords
),

project_hits as (
    select * from intermediate.int_activities__project_names
),

tag_hits as (
    select tagged.key_id, keywords.activity, keywords.priority
    from (select key_id, lower(unnest(tags)) as tag from entries) as tagged
    inner join keywords on keywords.keyword = tagged.tag
),

hits as (
    select key_id, activity, priority from tag_hits
    union all
    select entries.key_id, project_hits.activity, project_hits.priority
    from entries
    inner join project_hits
        on project_hits.source = entries.source
        and project_hits.project_name = entries.project_name
),

activities as (
    select key_id, arg_min(activity, priority) as activity
    from hits
    group by key_id
),

final as (
    select
        entries.*,
        coalesce(activities.activity, 'other') as activity
    from entries
    left join activities on activities.key_id = entries.key_id
)

select * from final
