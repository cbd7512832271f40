-- grain: one row per activity that would count (a touchpoint, or an inbound e-mail) but counts
-- nowhere, with the first reason it cannot.
-- rule: an activity with no instant, no account, no person its owner resolves to, or a person
-- outside the CSM population counts in no mart, only in this data-quality count, which the
-- marts step logs (docs/metrics.md, Engagement; Who is a CSM). An activity on several accounts
-- is one row, unless only some of its accounts are missing.
with activities as (
    select * from intermediate.int_touchpoints__activities
    where not is_deleted and (is_touchpoint or is_inbound_email)
),

reasons as (
    select
        activity_id,
        source,
        kind,
        case when is_inbound_email then 'inbound_message' else 'touchpoint' end as counts_as,
        case
            when occurred_at is null then 'no_instant'
            when account_id is null then 'no_account'
            when is_inbound_email then null  -- belongs to its account's owner, whoever sent it
            when csm_id is null then 'no_person'
            when not in_population then 'outside_population'
        end as reason
    from activities
),

final as (
    select distinct activity_id, source, kind, counts_as, reason
    from reasons
    where reason is not null
)

select * from final
