-- grain: one row per won deal from either CRM, with the reason it cannot be revenue (or null).
-- rule: Salesforce opportunities with IsWon; HubSpot deals in a stage whose pipeline metadata
-- says closed and won (docs/metrics.md, "ARR"). The schedule starts at the configured start field,
-- else the close date, and runs the configured term field's months, else the default term. Amounts
-- in another currency are converted at the configured rate. No amount, a negative amount, an amount
-- or annual value beyond decimal(18, 2) (the marts' money type), no close date, a term that is not
-- a positive whole number, or a currency with no rate make a deal a quarantined record, never a
-- silent zero or a failed cast. A zero amount is an amount: booked, adding no ARR.
-- The marts sum annual values (ARR, bookings) into decimal(18, 2) too, so what is accepted must
-- sum within it: an annual value of 1e12 or more (the per-deal cap, far beyond any real deal) is
-- quarantined, and should more than 10,000 deals near the cap still sum to 1e16, the largest are
-- quarantined until the rest fit. Every ARR sum is over some accepted deals, so each then fits.
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

judged as (
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
            when abs(amount * rate * 12 / term) >= 1e12
                then 'annual value beyond 1e12, the per-deal cap'
        end as reject_reason
    from priced
),

-- Accepted deals from the smallest annual value up, with the running total of their values
-- (decimal(38, 2): exact, and wide enough for any number of capped deals).
running as (
    select
        deal_id,
        sum(cast(round(amount * rate * 12 / term, 2) as decimal(38, 2))) over (
            order by amount * rate * 12 / term, deal_id
            rows between unbounded preceding and current row
        ) as running_arr
    from judged
    where reject_reason is null
),

final as (
    select
        judged.* exclude (reject_reason),
        case
            when running.running_arr >= 1e16
                then 'annual value would take the summed ARR beyond decimal(18, 2)'
            else judged.reject_reason
        end as reject_reason
    from judged
    left join running on running.deal_id = judged.deal_id
)

select * from final
