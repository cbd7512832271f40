-- grain: one row per value the company's owner property has held, from propertiesWithHistory.
-- rule: each value holds from its timestamp until the next one.
with source as (
    select * from raw.hubspot__companies
),

settings as (
    select * from staging.settings
),

histories as (
    select
        _pk,
        prefixed_id('hubspot', _record->>'id') as account_id,
        json_extract(_record, '$.propertiesWithHistory.' || settings.hubspot_owner_property)
            as history
    from source
    cross join settings
),

changes as (
    select
        _pk,
        account_id,
        unnest(from_json(history, '[{"value": "VARCHAR", "timestamp": "VARCHAR"}]')) as change
    from histories
    where history is not null
),

final as (
    select
        _pk,
        account_id,
        try_cast(change.timestamp as timestamptz) as changed_at,
        nullif(change.value, '') as new_owner_ref
    from changes
)

select * from final
