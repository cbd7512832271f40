-- grain: one row per won deal from either CRM, with the reason it cannot be revenue (or null).
-- rule: Salesforce opportunities with IsWon; HubSpot deals in a stage whose pipeline metadata
-- says closed and won (METRICS.md 4). The schedule starts at the configured start field, else
-- the close date, and runs the configured term field's months, else the default term. Amounts in
-- another currency are converted at the configured rate. No amount, no close date, a term that
-- is not a positive whole number, or a currency with no rate make a deal a quarantined record,
-- never a silent zero.
with settings as (
    select * from staging.settings
),

rates as (
    select * from staging.currency_rates
),

salesforce as (
    select * from staging.stg_salesforce__opportunities
    where is_won and not is_deleted
),

hubspot as (
    select deals.*
    from staging.stg_hubspot__deals as deals
    inner join staging.stg_hubspot__deal_stages as stages
        on stages.pipeline_id = deals.pipeline_id and stages.stage_id = deals.stage_id
    where stages.is_closed_won and not deals.is_deleted
),

won as (
    select deal_id, source, account_id, deal_name, amount, amount_raw, close_date, currency,
        term_raw, term_months, service_start
    from salesforce
    union all
    select deal_id, source, account_id, deal_name, amount, amount_raw, close_date, currency,
        term_raw, term_months, service_start
    from hubspot
),

final as (
    select
        won.*,
        coalesce(won.term_months, settings.default_term_months) as term,
        coalesce(won.service_start, won.close_date) as schedule_start,
        case
            when won.currency is null or won.currency = settings.reporting_currency then 1.0
            else rates.rate
        end as rate,
        case
            when won.account_id is null then 'no account'
            when won.amount is null and won.amount_raw is not null then 'amount is not a number'
            when won.amount is null then 'no amount'
            when won.close_date is null then 'no close date'
            when won.term_months is null and won.term_raw is not null
                then 'term is not a whole number of months'
            when coalesce(won.term_months, settings.default_term_months) <= 0
                then 'non-positive term'
            when won.currency is not null and won.currency <> settings.reporting_currency
                and rates.rate is null
                then 'currency ' || won.currency || ' has no conversion rate to '
                    || settings.reporting_currency
        end as reject_reason
    from won
    cross join settings
    left join rates on rates.currency = won.currency
)

select * from final
