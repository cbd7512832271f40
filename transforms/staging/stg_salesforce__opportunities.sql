-- grain: one row per Salesforce opportunity.
-- rule: revenue comes from won opportunities (IsWon); CurrencyIsoCode exists only in
-- multi-currency orgs, so its absence means the org's single currency. A deal's term and
-- service start come from the configured fields, when set.
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
        coalesce(try_cast(_record->>'IsDeleted' as boolean), false) as is_deleted,
        upper(_record->>'CurrencyIsoCode') as currency,
        json_extract_string(_record, '$.' || settings.salesforce_term_field) as term_raw,
        try_cast(json_extract_string(_record, '$.' || settings.salesforce_term_field)
            as integer) as term_months,
        try_cast(json_extract_string(_record, '$.' || settings.salesforce_start_field)
            as date) as service_start
    from source
    cross join settings
)

select * from final
