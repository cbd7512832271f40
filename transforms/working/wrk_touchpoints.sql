-- grain: one row per (touchpoint, account it touched), as intermediate.int_touchpoints.
-- rule: the touchpoints made once per build, for the engagement models that each read them
-- (docs/metrics.md, Engagement).
with touchpoints as (
    select * from intermediate.int_touchpoints
),

final as (
    select * from touchpoints
)

select * from final
