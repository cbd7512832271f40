-- grain: one row per value the company's owner property has held, from propertiesWithHistory.
-- rule: each value holds from its timestamp until the next one.
with source as (
    select * from raw.hubspot__companies
),

changes as (
    select
        'hs:' || (_record->>'id') as account_id,
        unnest(from_json(
            _record->'propertiesWithHistory'->'hubspot_owner_id',
            '[{"value": "VARCHAR", "timestamp": "VARCHAR"}]'
        )) as change
    from source
    where (_record->'propertiesWithHistory'->'hubspot_owner_id') is not null
),

final as (
    select
        account_id,
        try_cast(change.timestamp as timestamptz) as changed_at,
        nullif(change.value, '') as new_owner_ref
    from changes
)

select * from final
