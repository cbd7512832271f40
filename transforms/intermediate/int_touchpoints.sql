-- grain: one row per (touchpoint, account it touched): an activity on two accounts touches
-- both, once each.
-- rule: a touchpoint counts when it happened (an instant), on an account, by a member of the
-- CSM population; the rest counts nowhere, only in int_touchpoints__unusable (docs/metrics.md,
-- Engagement). Deleted activities never count.
with activities as (
    select * from intermediate.int_touchpoints__activities
),

final as (
    select
        activity_id,
        source,
        kind,
        account_id,
        csm_id,
        occurred_at
    from activities
    where is_touchpoint and not is_deleted
      and account_id is not null and occurred_at is not null and in_population
)

select * from final
