-- grain: one row per HubSpot company, archived ones kept and flagged.
-- rule: every HubSpot property arrives as a string; an empty owner means no owner. The owner
-- is the configured owner property (default hubspot_owner_id). The value milestone is the
-- configured date property (a date, or an instant read at its UTC date); NULL when unset.
with source as (
    select * from raw.hubspot__companies
),

settings as (
    select * from staging.settings
),

final as (
    select
        _pk,
        'hs:' || (_record->>'id') as account_id,
        'hubspot' as source,
        _record->'properties'->>'name' as account_name,
        nullif(json_extract_string(_record, '$.properties.' || settings.hubspot_owner_property),
            '') as owner_ref,
        coalesce(try_cast(_record->>'archived' as boolean), false) as is_deleted,
        try_cast(_record->>'createdAt' as timestamptz) as created_at,
        coalesce(
            try_cast(json_extract_string(
                _record, '$.properties.' || settings.hubspot_value_milestone_property) as date),
            cast(timezone('UTC', hs_instant(json_extract_string(
                _record, '$.properties.' || settings.hubspot_value_milestone_property))) as date)
        ) as value_milestone_date
    from source
    cross join settings
)

select * from final
