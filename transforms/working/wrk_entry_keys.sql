-- grain: one row per resolution key of the build's entry window, resolved (person, account,
-- activity, leave, population) as `intermediate.int_time_entries__resolved` gives it.
-- rule: the rules that place hours run once per distinct key, here, not once per entry: a few
-- thousand keys against millions of entries (docs/architecture.md, Transform layer). `key_id`
-- is this build's surrogate for the key: the hours cube (wrk_entry_months) and the onboardings
-- read it. The build sets its entry window before any other working model runs
-- (warehouse/marts.py), so only the keys of the entries its periods can hold are resolved.
with keys as (
    select * from intermediate.int_time_entries__resolved
),

final as (
    select
        key_id,
        key_hash,
        entry_key,
        csm_id,
        account_id,
        activity,
        is_leave,
        in_population
    from keys
)

select * from final
