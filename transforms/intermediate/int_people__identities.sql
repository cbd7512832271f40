-- grain: one row per user id in each system (CRM users, HubSpot owners, tracker users).
-- rule: a person is their trimmed, lower-cased e-mail; the same e-mail in any system is the
-- same person (docs/metrics.md, "Who is a CSM"). The roster may map extra e-mails (aliases) to a
-- person.
with salesforce as (
    select * from staging.stg_salesforce__users
),

hubspot as (
    select * from staging.stg_hubspot__owners
),

toggl as (
    select * from staging.stg_toggl__users
),

clockify as (
    select * from staging.stg_clockify__users
),

aliases as (
    select * from staging.roster_aliases
),

identities as (
    select 'salesforce' as system, user_id as ref, email, name from salesforce
    union all
    select 'hubspot', owner_id, email, name from hubspot
    union all
    select 'toggl', user_id, email, name from toggl
    union all
    select 'clockify', user_id, email, name from clockify
),

final as (
    select
        identities.system,
        identities.ref,
        coalesce(aliases.email, identities.email) as csm_id,
        identities.name
    from identities
    left join aliases on aliases.alias = identities.email
)

select * from final
