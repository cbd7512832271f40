-- grain: one row per resolution key of the time entries, resolved: its person, account,
-- activity, leave and population.
-- rule: a key is its tracker user's person (the identity), for its account
-- (int_time_entries__accounts) and activity (int_time_entries__activities). Leave (a
-- non-REGULAR Clockify type, or a configured leave project or tag) is not work; only the CSM
-- population's hours reach the marts (docs/metrics.md, Hours; Who is a CSM). Every entry of the
-- key shares it: int_time_entries__unified joins them back, a marts build keeps the keys in
-- wrk_entry_keys and their hours per month in wrk_entry_months.
with settings as (
    select * from staging.settings
),

identities as (
    select * from intermediate.int_people__identities
),

population as (
    select * from intermediate.int_people__csms
),

keys as (
    select * from intermediate.int_time_entries__activities
),

final as (
    select
        keys.key_id,
        keys.key_hash,
        keys.entry_key,
        keys.source,
        identities.csm_id,
        keys.description,
        keys.project_name,
        keys.client_name,
        keys.tags,
        keys.entry_type <> 'REGULAR'
            or coalesce(lower(keys.project_name) in (select unnest(leave_projects)
                                                       from settings), false)
            or list_has_any(list_transform(keys.tags, lambda t: lower(t)),
                            (select leave_tags from settings))
            as is_leave,
        keys.account_id,
        keys.account_match,
        keys.activity,
        coalesce(identities.csm_id in (select csm_id from population), false) as in_population
    from keys
    left join identities
        on identities.system = keys.source and identities.ref = keys.user_id
)

select * from final
