-- grain: one row per Salesforce account, deleted ones kept and flagged.
-- rule: account ids are prefixed by their source (docs/metrics.md, "Ownership at an instant"); the
-- owner is the configured owner field (default OwnerId, or a custom user lookup such as CSM__c).
-- The value milestone (go-live) is the configured date field, NULL when none is set.
with source as (
    select * from raw.salesforce__accounts
),

settings as (
    select * from staging.settings
),

final as (
    select
        _pk,
        'sf:' || (_record->>'Id') as account_id,
        'salesforce' as source,
        _record->>'Name' as account_name,
        nullif(json_extract_string(_record, '$.' || settings.salesforce_owner_field), '')
            as owner_ref,
        coalesce(try_cast(_record->>'IsDeleted' as boolean), false) as is_deleted,
        try_cast(_record->>'CreatedDate' as timestamptz) as created_at,
        coalesce(
            try_cast(json_extract_string(
                _record, '$.' || settings.salesforce_value_milestone_field) as date),
            cast(timezone('UTC', try_cast(json_extract_string(
                _record, '$.' || settings.salesforce_value_milestone_field) as timestamptz))
                as date)
        ) as value_milestone_date
    from source
    cross join settings
)

select * from final
