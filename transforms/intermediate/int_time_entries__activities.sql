-- grain: one row per time entry from either tracker, with its account and its activity.
-- rule: the activity is the first category of the keyword map (lowest priority) whose keyword
-- is one of the entry's tags or appears in its project's name, else `other` (docs/metrics.md,
-- Hours). Tags are matched exactly, by an equality join; project names through
-- int_activities__project_names, matched once per distinct name.
-- Materialized: the entries are read twice (hits, then joined back), so built once.
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
    select tagged.entry_id, keywords.activity, keywords.priority
    from (select entry_id, lower(unnest(tags)) as tag from entries) as tagged
    inner join keywords on keywords.keyword = tagged.tag
),

hits as (
    select entry_id, activity, priority from tag_hits
    union all
    select entries.entry_id, project_hits.activity, project_hits.priority
    from entries
    inner join project_hits
        on project_hits.source = entries.source
        and project_hits.project_name = entries.project_name
),

activities as (
    select entry_id, arg_min(activity, priority) as activity
    from hits
    group by entry_id
),

final as (
    select
        entries.*,
        coalesce(activities.activity, 'other') as activity
    from entries
    left join activities on activities.entry_id = entries.entry_id
)

select * from final
