-- grain: one row per HubSpot owner (the id that hubspot_owner_id holds).
with source as (
    select * from raw.hubspot__owners
),

final as (
    select
        _record->>'id' as owner_id,
        nullif(trim(concat_ws(' ', _record->>'firstName', _record->>'lastName')), '') as name,
        nullif(lower(trim(_record->>'email')), '') as email
    from source
)

select * from final
