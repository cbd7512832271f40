-- grain: one row per tag of either tracker (source, tag_id).
-- rule: the tag's name; entries and resolution keys carry their tags' names, sorted
-- (docs/metrics.md, Hours).
with tags as (
    select 'toggl' as source, * from staging.stg_toggl__tags
    union all by name
    select 'clockify' as source, * from staging.stg_clockify__tags
),

final as (
    select source, tag_id, tag_name
    from tags
)

select * from final
