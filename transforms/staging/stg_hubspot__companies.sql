-- grain: one row per HubSpot company, archived ones kept and flagged.
-- rule: every HubSpot property arrives as a string; an empty owner means no owner.
with source as (
    select * from raw.hubspot__companies
),

final as (
    select
        'hs:' || (_record->>'id') as account_id,
        'hubspot' as source,
        _record->'properties'->>'name' as account_name,
        nullif(_record->'properties'->>'hubspot_owner_id', '') as owner_ref,
        coalesce(try_cast(_record->>'archived' as boolean), false) as is_deleted,
        try_cast(_record->>'createdAt' as timestamptz) as created_at
    from source
)

select * from final
