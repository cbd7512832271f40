-- grain: one row per Salesforce opportunity.
-- rule: revenue comes from won opportunities (IsWon); CurrencyIsoCode exists only in
-- multi-currency orgs, so its absence means the org's single currency. A deal's term and
-- service start come from the configured fields, when set. Its source (default LeadSource) and
-- loss reason (none by default) are the configured fields, trimmed, NULL when empty
-- (docs/metrics.md, "Expansion sourcing", "Churn reasons").
with source as (
    select * from raw.salesforce__opportunities
),

settings as (
    select * from staging.settings
),

final as (
    select
        _pk,
        'sf:' || (_record->>'Id') as deal_id,
        'salesforce' as source,
        'sf:' || (_record->>'AccountId') as account_id,
        _record->>'Name' as deal_name,
        try_cast(_record->>'Amount' as decimal(18, 2)) as amount,
        _record->>'Amount' as amount_raw,
        try_cast(_record->>'CloseDate' as date) as close_date,
        coalesce(try_cast(_record->>'IsWon' as boolean), false) as is_won,
        try_cast(_record->>'IsClosed' as boolean) as is_closed,
        coalesce(try_cast(_record->>'IsDeleted' as boolean), false) as is_deleted,
        upper(_record->>'CurrencyIsoCode') as currency,
        json_extract_string(_record, '$.' || settings.salesforce_term_field) as term_raw,
        try_cast(json_extract_string(_record, '$.' || settings.salesforce_term_field)
            as integer) as term_months,
        try_cast(json_extract_string(_record, '$.' || settings.salesforce_start_field)
            as date) as service_start,
        nullif(trim(json_extract_string(_record, '$.' || settings.salesforce_source_field)), '')
            as source_value,
        nullif(_record->>'CreatedById', '') as created_by_ref,
        try_cast(_record->>'CreatedDate' as timestamptz) as created_at,
        nullif(trim(json_extract_string(
            _record, '$.' || settings.salesforce_loss_reason_field)), '') as loss_reason
    from source
    cross join settings
)

select * from final
