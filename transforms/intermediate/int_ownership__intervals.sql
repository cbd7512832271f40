-- grain: one row per (account, interval of instants with one owner), [valid_from, valid_to).
-- rule: the owner at an instant comes from the CRM's owner history where there is any
-- (`history`), else from the pipeline's own daily snapshots (`snapshot`), else from the current
-- owner (`current`) (docs/metrics.md, "Ownership at an instant"). Before its first recorded
-- change a Salesforce account had the change's old owner. HubSpot records the value a property
-- was created with as its first history entry (none if created empty), so before a company's
-- first entry it had no owner (`unassigned`). A company whose history holds no entry falls back
-- like one without history. Before its first snapshot, the current owner is the best knowledge.
-- An owner that resolves to no person (people who left resolve too) is `unassigned`.
with accounts as (
    select * from intermediate.int_accounts__unified
),

identities as (
    select * from intermediate.int_people__identities
),

salesforce_changes as (
    select * from staging.stg_salesforce__account_owner_history
),

hubspot_changes as (
    select * from staging.stg_hubspot__company_owner_history
),

snapshots as (
    select * from staging.stg_pipeline__ownership_snapshots
),

salesforce_events as (
    select account_id, changed_at as valid_from, new_owner_ref as owner_ref
    from salesforce_changes
    union all
    select account_id, '-infinity'::timestamptz, old_owner_ref
    from salesforce_changes
    qualify row_number() over (partition by account_id order by changed_at) = 1
),

-- HubSpot's first entry is the value the property was set to first: before it, no owner.
hubspot_events as (
    select account_id, changed_at as valid_from, new_owner_ref as owner_ref
    from hubspot_changes
    union all
    select distinct account_id, '-infinity'::timestamptz, null
    from hubspot_changes
),

history_events as (
    select account_id, valid_from, owner_ref, 'history' as ownership_source
    from salesforce_events
    union all
    select account_id, valid_from, owner_ref, 'history'
    from hubspot_events
),

snapshot_events as (
    select account_id, snapshot_at as valid_from, owner_ref, 'snapshot' as ownership_source
    from snapshots
    where account_id not in (select account_id from history_events)
),

current_events as (
    select account_id, '-infinity'::timestamptz as valid_from, owner_ref, 'current'
    from accounts
    where account_id not in (select account_id from history_events)
),

events as (
    select * from history_events
    union all
    select * from snapshot_events
    union all
    select * from current_events
),

resolved as (
    select
        events.account_id,
        coalesce(identities.csm_id, 'unassigned') as csm_id,
        events.ownership_source,
        events.valid_from
    from events
    inner join accounts on accounts.account_id = events.account_id
    left join identities
        on identities.system = accounts.source and identities.ref = events.owner_ref
),

final as (
    select
        account_id,
        csm_id,
        ownership_source,
        valid_from,
        lead(valid_from, 1, 'infinity'::timestamptz)
            over (partition by account_id order by valid_from) as valid_to
    from resolved
)

select * from final
