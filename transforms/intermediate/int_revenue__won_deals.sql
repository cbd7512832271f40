-- grain: one row per won deal from either CRM, with the reason it cannot be revenue (or null).
-- rule: Salesforce opportunities with IsWon; HubSpot deals in a stage whose pipeline metadata
-- says closed and won (docs/metrics.md, "ARR"). The schedule starts at the configured start field,
-- else the close date, and runs the configured term field's months, else the default term. Amounts
-- in another currency are converted at the configured rate. No amount, a negative amount, an amount
-- or annual value beyond decimal(18, 2) (the marts' money type), no close date, a term that is not
-- a positive whole number, or a currency with no rate make a deal a quarantined record, never a
-- silent zero or a failed cast. A zero amount is an amount: booked, adding no ARR.
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

priced as (
    select
        won.*,
        coalesce(won.term_months, settings.default_term_months) as term,
        coalesce(won.service_start, won.close_date) as schedule_start,
        case
            when won.currency is null or won.currency = settings.reporting_currency then 1.0
            else rates.rate
        end as rate,
        settings.reporting_currency
    from won
    cross join settings
    left join rates on rates.currency = won.currency
),

final as (
    select
        * exclude (reporting_currency),
        case
            when account_id is null then 'no account'
            -- A number decimal(18, 2) cannot hold (try_cast gave null): too large, or infinite.
            when amount is null and not isnan(try_cast(amount_raw as double))
                then 'amount beyond decimal(18, 2)'
            when amount is null and amount_raw is not null then 'amount is not a number'
            when amount is null then 'no amount'
            when amount < 0 then 'negative amount'
            when close_date is null then 'no close date'
            when term_months is null and term_raw is not null
                then 'term is not a whole number of months'
            when term <= 0 then 'non-positive term'
            when currency is not null and currency <> reporting_currency and rate is null
                then 'currency ' || currency || ' has no conversion rate to '
                    || reporting_currency
            -- int_revenue__schedules casts annual_value to decimal(18, 2): refuse what cannot fit.
            when abs(amount * rate * 12 / term) >= 1e16 then 'annual value beyond decimal(18, 2)'
        end as reject_reason
    from priced
)

select * from final
