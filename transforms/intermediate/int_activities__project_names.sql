-- grain: one row per (tracker, project name, keyword the name contains).
-- rule: a keyword of the activity map that appears in a project's name (lower-cased) gives its
-- entries that activity at the keyword's priority (docs/metrics.md, Hours). Matched once per
-- distinct project name (a few hundred), so entries find theirs by an equality join.
with projects as (
    select 'toggl' as source, project_name from staging.stg_toggl__projects
    union
    select 'clockify' as source, project_name from staging.stg_clockify__projects
),

keywords as (
    select * from staging.activity_keywords
),

final as (
    select projects.source, projects.project_name, keywords.activity, keywords.priority
    from projects
    inner join keywords on contains(lower(projects.project_name), keywords.keyword)
    where projects.project_name is not null
)

select * from final
