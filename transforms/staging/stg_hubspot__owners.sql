-- grain: one row per HubSpot owner (the id that hubspot_owner_id holds), archived ones (people
-- who left, listed only with archived=true) kept and flagged: their past books stay theirs.
-- `user_id` is the owner's HubSpot user (`userId`): a deal's `hs_created_by_user_id` is one.
with source as (
    select * from raw.hubspot__owners
),

final as (
    select
        _pk,
        _record->>'id' as owner_id,
        nullif(trim(concat_ws(' ', _record->>'firstName', _record->>'lastName')), '') as name,
        fold_email(_record->>'email') as email,
        coalesce(try_cast(_record->>'archived' as boolean), false) as is_archived,
        nullif(_record->>'userId', '') as user_id
    from source
)

select * from final
