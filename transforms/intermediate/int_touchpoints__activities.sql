-- grain: one row per (CRM activity, account it is on) from both CRMs; an activity on no account
-- is one row with no account.
-- rule: the per-source models decide what each activity is (docs/metrics.md, Engagement); here
-- the person is resolved: the activity's owner to the person (`csm_id`) through the CRM user or
-- owner's e-mail, and whether that person is in the CSM population (`in_population`), as hours
-- are (docs/metrics.md, Who is a CSM).
with salesforce as (
    select * from intermediate.int_activities__salesforce
),

hubspot as (
    select * from intermediate.int_activities__hubspot
),

identities as (
    select * from intermediate.int_people__identities
),

population as (
    select * from intermediate.int_people__csms
),

activities as (
    select * from salesforce
    union all by name
    select * from hubspot
),

final as (
    select
        activities.activity_id,
        activities.source,
        activities.kind,
        activities.direction,
        activities.account_id,
        activities.owner_ref,
        identities.csm_id,
        coalesce(identities.csm_id in (select csm_id from population), false) as in_population,
        activities.occurred_at,
        activities.is_touchpoint,
        activities.is_inbound_email,
        activities.is_outbound,
        activities.is_deleted
    from activities
    left join identities
        on identities.system = activities.source and identities.ref = activities.owner_ref
)

select * from final
